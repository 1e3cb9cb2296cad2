/**
 * CI use cases shared by every front end (DESIGN §4.7): a CI snapshot in, KPI samples in (reduced
 * before they reach the CI's workflow), one CI shown, CIs listed. Each builds its public document
 * here, once; the CLI prints it and the HTTP API returns it.
 */
import { queryCi, signalCi, signalKpis } from '../client/cis';
import { ciReadings, ciSegments, CI_SORTS, getCiRow, listCis, reduceKpiBatch } from '../db/ciQueries';
import { latestDefinitions } from '../db/queries';
import { parseCi, parseKpiSample, type Ci, type KpiReading, type KpiSample, type KpiValue } from '../domain/ci/ci';
import type { CiMeasurementView } from '../domain/ci/engine';
import { reduceSamples, refreshMsOf } from '../domain/ci/kpiForward';
import { compiledDefinitionsOf, type CompiledCiTarget } from '../domain/definitions';
import type { KpiForward, RejectedChange } from '../workflows/messages';
import type { AppPorts } from './ports';
import type { CiDoc, CiListDoc } from './documents';
import { listPage } from './tickets';

export const CI_PAGE_SIZE = 25;
/** Samples in one push: a bigger batch is refused whole (the API's body limit says the same in bytes). */
export const MAX_SAMPLES_PER_PUSH = 20_000;

export class CiNotFoundError extends Error {
  override name = 'CiNotFoundError';
}

/** A validated CI snapshot (`parseCi`), sent to its workflow (started when none runs). */
export async function upsertCi(ports: AppPorts, ci: Ci): Promise<{ ciId: string; workflowId: string }> {
  const { workflowId } = await signalCi(await ports.temporal(), ports.settings, ci);
  return { ciId: ci.id, workflowId };
}

/** What a push did: samples taken, forwarded to workflows, and the CIs they were for. */
export interface KpiPushResult {
  accepted: number;
  /** Samples older than the value already held for their KPI, ignored. */
  stale: number;
  forwarded: number;
  cis: number;
}

/** The performance targets in force, compiled once per definitions version (read at most every 2 s). */
let targetsMemo: { at: number; targets: CompiledCiTarget[] } | null = null;
async function ciTargets(ports: Pick<AppPorts, 'db'>): Promise<CompiledCiTarget[]> {
  const now = Date.now();
  if (targetsMemo && now - targetsMemo.at < 2000) return targetsMemo.targets;
  const latest = await latestDefinitions(await ports.db());
  const targets = latest ? compiledDefinitionsOf(String(latest.version), latest.body).ciTargets : [];
  targetsMemo = { at: now, targets };
  return targets;
}

/** A push bigger than one request may carry. */
export class PushTooLargeError extends Error {
  override name = 'PushTooLargeError';
}

export type ParsedSample = KpiSample & { at: number };

/**
 * A push's samples (one or an array), every one validated before anything is sent: a bad one refuses
 * the whole push, naming it (nothing is half-applied). Instants are bounded around `now`.
 */
export function parseKpiPush(raw: unknown, now = Date.now()): ParsedSample[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > MAX_SAMPLES_PER_PUSH) throw new PushTooLargeError(`too many samples in one push: ${list.length} (at most ${MAX_SAMPLES_PER_PUSH}; send them in batches)`);
  return list.map((s, i) => parseKpiSample(s, now, Array.isArray(raw) ? `samples[${i}]` : 'sample'));
}

/**
 * Validated KPI samples in: per CI in one transaction the ledger is updated and the samples that change
 * a state are forwarded to the CI's workflow (started when none runs: a sample may come before the
 * CI's snapshot — it is kept, and measured once the CI's terms hold).
 */
export async function pushKpis(ports: AppPorts, samples: ParsedSample[]): Promise<KpiPushResult> {
  const byCi = new Map<string, { name: string; value: KpiValue; at: number }[]>();
  for (const sample of samples) {
    let l = byCi.get(sample.ci);
    if (!l) byCi.set(sample.ci, (l = []));
    l.push({ name: sample.name, value: sample.value, at: sample.at });
  }
  if (byCi.size === 0) return { accepted: 0, stale: 0, forwarded: 0, cis: 0 };
  const targets = await ciTargets(ports);
  const refreshMs = refreshMsOf(targets);
  const client = await ports.temporal();
  let forwarded = 0;
  const tally = { stale: 0 };
  await reduceKpiBatch<KpiForward>(
    await ports.db(),
    [...byCi.keys()],
    (ciId, ledger) =>
      reduceSamples(
        ciId,
        ledger,
        byCi.get(ciId)!.sort((a, b) => a.at - b.at),
        targets,
        refreshMs,
        tally,
      ),
    async (forwards) => {
      const sends: Promise<void>[] = [];
      for (const [ciId, f] of forwards) {
        forwarded += f.length;
        sends.push(signalKpis(client, ports.settings, ciId, f));
        if (sends.length >= 64) await Promise.all(sends.splice(0));
      }
      await Promise.all(sends);
    },
  );
  return { accepted: samples.length - tally.stale, stale: tally.stale, forwarded, cis: byCi.size };
}

const isoReadings = (r: Record<string, KpiReading> | null | undefined) =>
  Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, { value: v.value, at: new Date(v.at).toISOString() }]));

/**
 * One CI: live from its workflow (segments the run no longer keeps come from the database), else as
 * its run last saved it. KPIs are the latest readings the ingest holds.
 */
export async function showCi(ports: AppPorts, ciId: string): Promise<CiDoc> {
  const id = parseCi({ id: ciId }).id;
  const live = await ports
    .temporal()
    .then((c) => queryCi(c, id))
    .catch(() => null);
  const db = await ports.db().catch(() => null);
  const readings = db ? await ciReadings(db, id) : null;
  if (live) {
    const measurements = db ? await withStoredSegments(db, id, live.measurements) : live.measurements;
    return { ci: live.ci, kpis: isoReadings(readings ?? live.kpis), measurements, rejectedChanges: live.rejectedChanges };
  }
  const row = db ? await getCiRow(db, id) : null;
  if (!row) throw new CiNotFoundError(`no CI ${id}`);
  return {
    ci: row.ci as Ci | null,
    kpis: isoReadings(readings ?? (row.kpis as Record<string, KpiReading>)),
    measurements: await withStoredSegments(db!, id, row.measurements as CiMeasurementView[]),
    rejectedChanges: row.rejectedChanges as RejectedChange[],
  };
}

/** Each measurement's full list of segments: the stored ones before those the run still keeps. */
async function withStoredSegments(db: Parameters<typeof ciSegments>[0], ciId: string, views: CiMeasurementView[]): Promise<CiMeasurementView[]> {
  const out: CiMeasurementView[] = [];
  const instances = new Map<string, number>();
  for (const v of views) {
    const instance = instances.get(v.serviceTargetId) ?? 0;
    instances.set(v.serviceTargetId, instance + 1);
    if (!v.earlierSegments) {
      out.push(v);
      continue;
    }
    const stored = await ciSegments(db, ciId, v.serviceTargetId, instance);
    out.push({ ...v, earlierSegments: 0, segments: [...stored.slice(0, v.earlierSegments), ...v.segments] });
  }
  return out;
}

export interface CiListQuery {
  page?: number;
  filter?: string | undefined;
  sort?: string;
  descending?: boolean;
  /** Only CIs that are down (true) or not (false). */
  down?: boolean | undefined;
  tenant?: { field: string; value: string } | undefined;
}

export const CI_SORT_NAMES = Object.keys(CI_SORTS) as (keyof typeof CI_SORTS)[];

/** The CIs, 25 per page, filtered on id, class or state. */
export async function listCisDoc(ports: Pick<AppPorts, 'db'>, q: CiListQuery): Promise<CiListDoc> {
  const { page, sort } = listPage(q, CI_SORT_NAMES);
  const result = await listCis(await ports.db(), {
    page,
    pageSize: CI_PAGE_SIZE,
    filter: q.filter,
    sort,
    descending: !!q.descending,
    down: q.down,
    tenant: q.tenant,
  });
  return {
    total: result.total,
    page,
    cis: result.rows.map((r) => ({
      ciId: r.ciId,
      class: r.class,
      state: r.state,
      down: r.down,
      measurements: (r.measurements as unknown[]).length,
      updatedAt: r.updatedAt.toISOString(),
    })),
  };
}

/** `slm ci show --timeline`: each measurement's segments and why, as text. */
export function ciTimelineText(doc: CiDoc): string {
  const lines: string[] = [];
  lines.push(`CI ${doc.ci?.id ?? '?'}${doc.ci && typeof doc.ci.class === 'string' ? ` (${doc.ci.class})` : ''}`);
  for (const m of doc.measurements) {
    const goal = Object.entries(m.goal).map(([k, v]) => `${k} ${v}`)[0] ?? '';
    lines.push(
      `  ${m.serviceTargetId} [${m.type}] ${m.status} ${m.state} — up ${m.upSeconds} s, down ${m.downSeconds} s in ${m.downCount} outage(s), unknown ${m.unknownSeconds} s; availability ${m.availability ?? 'n/a'} %; goal ${goal}: ${m.goalMet === null ? 'n/a' : m.goalMet ? 'kept' : 'missed'}${m.reason ? `; why: ${m.reason}` : ''}`,
    );
    for (const s of m.segments) lines.push(`    ${s.startAt} → ${s.endAt ?? 'now'}  ${s.state.padEnd(7)} ${s.businessSeconds} business s`);
    for (const ms of m.milestones)
      if (ms.firedAt || ms.dueAt) lines.push(`    milestone ${ms.name}: ${ms.firedAt ? `fired ${ms.firedAt}` : ''}${ms.dueAt ? ` due ${ms.dueAt}` : ''}`);
  }
  for (const r of doc.rejectedChanges) lines.push(`  refused ${r.at}: ${r.reason}`);
  return lines.join('\n') + '\n';
}
