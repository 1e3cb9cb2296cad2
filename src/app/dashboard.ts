/**
 * The dashboard's documents beyond the CLI's (DESIGN §3.5): the overview (every agreement the caller
 * may see with its current records, forecast and recent trend, breaches and at-risk first, and the
 * counts of open tickets, MissedGoal measurements and CIs down) and the chart series of an agreement's
 * period. Both read through row-level security for a tenant-bound caller.
 */
import { asTenant, listPoints, listSettlements, readRecords } from '../db/compliance';
import { ciStrips, hurting, overviewCounts, recentRecords } from '../db/dashboard';
import type { Db } from '../db/client';
import { statusOf, scopeKey, type ComplianceRecordView, type ComplianceStatus } from '../domain/compliance/record';
import { DEFAULT_ACTIVE_STATES } from '../domain/snow/snowCycle';
import { agreementSummary, ComplianceRequestError, inForce, recordsHolding, settlementView, visibleAgreements } from './compliance';
import type { AgreementPageDoc, CiStripsDoc, OverviewDoc, RecordSeries, SeriesDoc } from './documents';
import type { AppPorts } from './ports';

/** How many periods an agreement's trend shows (the current one included). */
export const TREND_PERIODS = 6;

const RANK: Record<string, number> = { Breached: 0, AtRisk: 1, Compliant: 2 };
const rank = (s: ComplianceStatus | null) => (s === null ? 3 : RANK[s]!);

export async function overviewDoc(ports: Pick<AppPorts, 'db'>, tenant: string | null = null, now = Date.now()): Promise<OverviewDoc> {
  const { db, current: inforce, defs } = await inForce(ports);
  const active = defs.connector?.activeStates ?? DEFAULT_ACTIVE_STATES;
  const [records, { counts, recent }] = await Promise.all([
    readRecords(db, tenant, { at: now }, now, inforce),
    asTenant(db, tenant, async (tx) => ({ counts: await overviewCounts(tx, active), recent: await recentRecords(tx, TREND_PERIODS) })),
  ]);
  const contracts = new Map(defs.contracts.map((c) => [c.id, c]));
  const agreements = visibleAgreements(defs, tenant).map((a) => {
    const c = a.contract === undefined ? null : (contracts.get(a.contract) ?? null);
    const current = records.filter((r) => r.agreementId === a.id);
    const first = a.reviewPeriods[0];
    const trend = recent
      .filter((r) => r.agreementId === a.id && r.reviewPeriod === first)
      .reverse()
      .map((r) => {
        // The current record as read now (its stored percent is the last write's).
        const live = !r.closed ? current.find((x) => x.reviewPeriod === r.reviewPeriod && Date.parse(x.periodStart) === r.periodStart.getTime()) : undefined;
        const percent = live ? live.percent : r.percent;
        return { reviewPeriod: r.reviewPeriod, periodStart: r.periodStart.toISOString(), percent, status: statusOf(a, percent), closed: r.closed };
      });
    const status = current.reduce<ComplianceStatus | null>((worst, r) => (rank(r.status) < rank(worst) ? r.status : worst), null);
    return {
      ...agreementSummary(a, c),
      status,
      current,
      trend,
    };
  });
  agreements.sort((x, y) => rank(x.status) - rank(y.status) || x.id.localeCompare(y.id));
  return { generatedAt: new Date(now).toISOString(), counts, agreements };
}

/** The percent over the period of an agreement's records (the current ones, or those holding `period`). */
export async function seriesDoc(
  ports: Pick<AppPorts, 'db'>,
  agreementId: string,
  opts: { period?: string | undefined; tenant?: string | null } = {},
  now = Date.now(),
): Promise<SeriesDoc> {
  const { db, tenant, agreement: a, records } = await recordsHolding(ports, agreementId, opts, now);
  return { agreementId, compliance: { target: a.compliance.target, atRisk: a.compliance.atRisk ?? null }, series: await seriesOf(db, tenant, records, now) };
}

/**
 * Each record's chart: the points the compliance tick wrote, then the percent now (an open record) or
 * at its end (a closed one, amended where amended).
 */
export async function seriesOf(db: Db, tenant: string | null, records: ComplianceRecordView[], now: number): Promise<RecordSeries[]> {
  const keys = records.map((r) => ({ scope: scopeKey(r.agreementId, r.contractId), reviewPeriod: r.reviewPeriod, periodStart: Date.parse(r.periodStart) }));
  const points = await asTenant(db, tenant, (tx) => listPoints(tx, keys));
  return records.map((r, i) => {
    const k = keys[i]!;
    const own: [number, number | null][] = points
      .filter((p) => p.scope === k.scope && p.reviewPeriod === k.reviewPeriod && p.periodStart.getTime() === k.periodStart)
      .map((p) => [p.at.getTime(), p.percent]);
    const end = Date.parse(r.periodEnd);
    if (!r.closed && now < end && (own.length === 0 || own[own.length - 1]![0] < now)) own.push([now, r.percent]);
    if (r.closed && (own.length === 0 || own[own.length - 1]![0] < end)) own.push([end, r.amendedPercent ?? r.percent]);
    return { contractId: r.contractId, reviewPeriod: r.reviewPeriod, periodStart: r.periodStart, periodEnd: r.periodEnd, closed: r.closed, points: own };
  });
}

export const AGREEMENT_PAGE_RECORDS = 24;
/** How many of the tickets (and CIs) that pull a record down the page lists. */
export const HURTING_ROWS = 25;

export async function agreementPageDoc(
  ports: Pick<AppPorts, 'db'>,
  agreementId: string,
  opts: { period?: string | undefined; reviewPeriod?: string | undefined; tenant?: string | null } = {},
  now = Date.now(),
): Promise<AgreementPageDoc> {
  const { db, current, defs, tenant, agreement: a, records: holding } = await recordsHolding(ports, agreementId, opts, now);
  const kind = opts.reviewPeriod ?? a.reviewPeriods[0]!;
  if (!a.reviewPeriods.includes(kind as never)) throw new ComplianceRequestError(`reviewPeriod must be one of ${a.reviewPeriods.join(', ')} for agreement "${a.id}"`);
  // The record shown in detail: of the review period asked, holding the instant asked.
  const selected = holding.find((r) => r.reviewPeriod === kind) ?? null;
  const [records, series, settlements] = await Promise.all([
    Promise.all(a.reviewPeriods.map((k) => readRecords(db, tenant, { agreementId, reviewPeriod: k, limit: AGREEMENT_PAGE_RECORDS }, now, current))).then((x) =>
      x.flat().sort((p, q) => q.periodStart.localeCompare(p.periodStart) || p.reviewPeriod.localeCompare(q.reviewPeriod)),
    ),
    selected ? seriesOf(db, tenant, [selected], now).then((x) => x[0]!) : null,
    asTenant(db, tenant, (tx) => listSettlements(tx, agreementId)).then((rows) => rows.map(settlementView)),
  ]);
  const contract = defs.contracts.find((c) => c.id === a.contract);
  const isRequest = (id: string) => (defs.serviceTargets.find((t) => t.id === id)?.type ?? 'request') === 'request';
  const ids = a.targets.map((t) => t.serviceTarget);
  const hurts = selected
    ? await asTenant(db, tenant, (tx) =>
        hurting(tx, {
          requestTargets: ids.filter(isRequest),
          ciTargets: ids.filter((id) => !isRequest(id)),
          from: Date.parse(selected.periodStart),
          to: Date.parse(selected.periodEnd),
          now,
          // The record counts its contract's tenant only.
          tenant: contract?.tenant ?? null,
          limit: HURTING_ROWS,
        }),
      )
    : null;
  const range = (r: { atLeast?: number | undefined; below?: number | undefined; amount: number }) => ({ atLeast: r.atLeast ?? null, below: r.below ?? null, amount: r.amount });
  return {
    agreement: {
      ...agreementSummary(a, contract),
      reviewPeriods: a.reviewPeriods,
      targets: a.targets,
      penalties: a.penalties.map(range),
      rewards: a.rewards.map(range),
    },
    records,
    selected,
    series,
    hurting: hurts,
    settlements,
  };
}

export const MAX_STRIPS = 100;

export async function ciStripsDoc(ports: Pick<AppPorts, 'db'>, ids: string[], tenant: string | null = null, now = Date.now()): Promise<CiStripsDoc> {
  if (ids.length > MAX_STRIPS) throw new ComplianceRequestError(`ids: at most ${MAX_STRIPS} CIs at a time, got ${ids.length}`);
  const d = new Date(now);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const db = await ports.db();
  const cis = await asTenant(db, tenant, (tx) => ciStrips(tx, ids, from, to, now));
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), cis };
}
