/**
 * Compliance use cases shared by the CLI and the HTTP API (DESIGN §4.8): agreements listed with their
 * current records, an agreement's records shown (current, or the period holding a date), its history
 * with the settlement ledger, a recompute asked for, and a CSV of a period's records and the
 * measurements behind them. A tenant-bound caller reads through row-level security.
 */
import { wakeCompliance } from '../client/compliance';
import { asTenant, definitionsOf, listSettlements, measurementsBehind, readRecords, requestRecompute, type CurrentDefinitions } from '../db/compliance';
import type { Db } from '../db/client';
import { dayStart } from '../domain/compliance/periods';
import type { Definitions } from '../domain/definitions';
import type { AgreementDefinition, ContractDefinition } from '../domain/compliance/agreements';
import type { AgreementsDoc, AgreementSummary, ComplianceDoc, ComplianceHistoryDoc, SettlementView } from './documents';
import type { AppPorts } from './ports';

export class ComplianceRequestError extends Error {
  override name = 'ComplianceRequestError';
}
export class AgreementNotFoundError extends Error {
  override name = 'AgreementNotFoundError';
}

/** The definitions in force, parsed once per version (the compliance store's memo), and the store. */
export async function inForce(ports: Pick<AppPorts, 'db'>): Promise<{ db: Db; current: CurrentDefinitions; defs: Definitions }> {
  const db = await ports.db();
  const current = await definitionsOf(db);
  return { db, current, defs: current.defs };
}

/** The agreements a caller may see: all of them, or (tenant-bound) those of its tenant's contracts. */
export function visibleAgreements(defs: Definitions, tenant: string | null) {
  if (tenant === null) return defs.agreements;
  const mine = new Set(defs.contracts.filter((c) => c.tenant === tenant).map((c) => c.id));
  return defs.agreements.filter((a) => a.contract !== undefined && mine.has(a.contract));
}

export function agreementOf(defs: Definitions, tenant: string | null, id: string) {
  const a = visibleAgreements(defs, tenant).find((x) => x.id === id);
  if (!a) throw new AgreementNotFoundError(`unknown agreement "${id}"`);
  return a;
}

/** An agreement as every list shows it, with its contract's customer. */
export function agreementSummary(a: AgreementDefinition, contract: ContractDefinition | null | undefined): AgreementSummary {
  return {
    id: a.id,
    title: a.title ?? null,
    type: a.type,
    contractId: contract?.id ?? null,
    customer: contract?.customer ?? null,
    timezone: a.timezone,
    compliance: { target: a.compliance.target, atRisk: a.compliance.atRisk ?? null },
  };
}

/** A date (YYYY-MM-DD), a month (YYYY-MM) or an ISO instant, as an instant in `zone`. */
export function periodInstant(text: string, zone: string): number {
  if (/^\d{4}-\d{2}$/.test(text)) return dayStart(`${text}-01`, zone);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return dayStart(text, zone);
  const t = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(t)) throw new ComplianceRequestError(`invalid period "${text}": expected YYYY-MM, YYYY-MM-DD or an ISO instant with an offset`);
  return t;
}

export async function listAgreementsDoc(ports: Pick<AppPorts, 'db'>, tenant: string | null = null, now = Date.now()): Promise<AgreementsDoc> {
  const { db, current: inforce, defs } = await inForce(ports);
  const current = await readRecords(db, tenant, { at: now }, now, inforce);
  const contracts = new Map(defs.contracts.map((c) => [c.id, c]));
  return {
    agreements: visibleAgreements(defs, tenant).map((a) => {
      const c = a.contract === undefined ? null : (contracts.get(a.contract) ?? null);
      return {
        ...agreementSummary(a, c),
        tenant: c?.tenant ?? null,
        reviewPeriods: a.reviewPeriods,
        targets: a.targets,
        current: current.filter((r) => r.agreementId === a.id),
      };
    }),
  };
}

/** `slm compliance show AGREEMENT [--period P] --json`, `GET /v1/compliance?agreement=A[&period=P]`: the records of the current periods, or those holding P. */
export async function complianceShowDoc(
  ports: Pick<AppPorts, 'db'>,
  agreementId: string,
  opts: { period?: string | undefined; tenant?: string | null } = {},
  now = Date.now(),
): Promise<ComplianceDoc> {
  return { agreementId, records: (await recordsHolding(ports, agreementId, opts, now)).records };
}

/**
 * The records of `agreementId` whose period holds `period` (default now) — one per review period and
 * contract — as `tenant` may read them, with what was read to find them.
 */
export async function recordsHolding(ports: Pick<AppPorts, 'db'>, agreementId: string, opts: { period?: string | undefined; tenant?: string | null } = {}, now = Date.now()) {
  const { db, current, defs } = await inForce(ports);
  const tenant = opts.tenant ?? null;
  const agreement = agreementOf(defs, tenant, agreementId);
  const at = opts.period === undefined ? now : periodInstant(opts.period, agreement.timezone);
  return { db, current, defs, tenant, agreement, at, records: await readRecords(db, tenant, { agreementId, at }, now, current) };
}

/** A ledger row as the documents show it. */
export function settlementView(s: Awaited<ReturnType<typeof listSettlements>>[number]): SettlementView {
  return {
    key: s.key,
    reviewPeriod: s.reviewPeriod,
    periodStart: s.periodStart.toISOString(),
    revision: s.revision,
    percent: s.percent,
    penalty: s.penalty,
    reward: s.reward,
    penaltyDelta: s.penaltyDelta,
    rewardDelta: s.rewardDelta,
    settledAt: s.settledAt.toISOString(),
  };
}

/** `slm compliance history AGREEMENT --json`: every record, newest first, and the settlement ledger. */
export async function complianceHistoryDoc(ports: Pick<AppPorts, 'db'>, agreementId: string, tenant: string | null = null, now = Date.now()): Promise<ComplianceHistoryDoc> {
  const { db, current, defs } = await inForce(ports);
  agreementOf(defs, tenant, agreementId);
  const records = await readRecords(db, tenant, { agreementId }, now, current);
  const ledger = await asTenant(db, tenant, (tx) => listSettlements(tx, agreementId));
  return {
    agreementId,
    records,
    settlements: ledger.map(settlementView),
  };
}

/** `slm compliance recompute AGREEMENT --from DATE`: records ending after DATE are recounted from the stored measurements. */
export async function recomputeCompliance(ports: Pick<AppPorts, 'db' | 'temporal' | 'settings'>, agreementId: string, from: string): Promise<{ from: string }> {
  const { db, defs } = await inForce(ports);
  const a = agreementOf(defs, null, agreementId);
  const at = periodInstant(from, a.timezone);
  await requestRecompute(db, at);
  await wakeCompliance(await ports.temporal(), ports.settings.SLM_TASK_QUEUE);
  return { from: new Date(at).toISOString() };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvLine = (cells: unknown[]) => cells.map(csvCell).join(',');

/**
 * `slm compliance export --period P --format csv [--agreement A]`: the records whose period holds P
 * (one line per record and target), then the measurements behind them (request results, CI segments).
 */
export async function complianceCsv(
  ports: Pick<AppPorts, 'db'>,
  opts: { period: string; agreementId?: string | undefined; tenant?: string | null },
  now = Date.now(),
): Promise<string> {
  const { db, current, defs } = await inForce(ports);
  const tenant = opts.tenant ?? null;
  const agreements = opts.agreementId ? [agreementOf(defs, tenant, opts.agreementId)] : visibleAgreements(defs, tenant);
  const out: string[] = [
    csvLine([
      'section',
      'agreementId',
      'contractId',
      'reviewPeriod',
      'periodStart',
      'periodEnd',
      'closed',
      'percent',
      'status',
      'penalty',
      'reward',
      'amendedPercent',
      'impactCost',
      'serviceTargetId',
      'weight',
      'targetPercent',
      'met',
      'missed',
      'upSeconds',
      'downSeconds',
      'unknownSeconds',
      'downCount',
      'targetImpactCost',
    ]),
  ];
  const behind: string[] = [
    csvLine([
      'section',
      'agreementId',
      'contractId',
      'reviewPeriod',
      'periodStart',
      'serviceTargetId',
      'subject',
      'status',
      'resultAt',
      'startAt',
      'stopAt',
      'businessSeconds',
      'impactCost',
      'tenant',
    ]),
  ];
  for (const a of agreements) {
    const at = periodInstant(opts.period, a.timezone);
    const records = await readRecords(db, tenant, { agreementId: a.id, at }, now, current);
    const contract = defs.contracts.find((c) => c.id === a.contract);
    for (const r of records) {
      for (const t of r.targets)
        out.push(
          csvLine([
            'record',
            r.agreementId,
            r.contractId,
            r.reviewPeriod,
            r.periodStart,
            r.periodEnd,
            r.closed,
            r.percent,
            r.status,
            r.penalty,
            r.reward,
            r.amendedPercent,
            r.impactCost,
            t.serviceTargetId,
            t.weight,
            t.percent,
            t.met,
            t.missed,
            t.upSeconds,
            t.downSeconds,
            t.unknownSeconds,
            t.downCount,
            t.impactCost,
          ]),
        );
      const m = await asTenant(db, tenant, (tx) =>
        measurementsBehind(
          tx,
          a.targets.map((t) => t.serviceTarget),
          Date.parse(r.periodStart),
          Date.parse(r.periodEnd),
          contract?.tenant ?? null,
        ),
      );
      const head = ['measurement', r.agreementId, r.contractId, r.reviewPeriod, r.periodStart];
      for (const q of m.requests)
        behind.push(csvLine([...head, q.serviceTargetId, q.ticketId, q.status, q.resultAt?.toISOString() ?? null, null, null, null, q.impactCost, q.tenant]));
      for (const s of m.segments)
        behind.push(
          csvLine([
            ...head,
            s.serviceTargetId,
            s.ciId,
            s.state,
            null,
            s.startAt.toISOString(),
            s.stopAt?.toISOString() ?? null,
            s.businessMs === null ? null : s.businessMs / 1000,
            null,
            s.tenant,
          ]),
        );
    }
  }
  return [...out, '', ...behind].join('\n') + '\n';
}
