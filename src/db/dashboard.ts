/**
 * The dashboard's summary reads: the counts on its overview and the recent records behind each
 * agreement's trend. Run inside `asTenant`, so a tenant-bound caller counts only its own rows.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { CiStrip, Hurting, OverviewCounts } from '../app/documents';
import { sideOf } from '../domain/compliance/facts';
import type { Tx } from './compliance';
import { cis, complianceRecords, measurementSegments, measurements, tickets } from './schema';

/** The counts in one statement (a transaction runs one query at a time). */
export async function overviewCounts(tx: Tx, activeStates: readonly string[]): Promise<OverviewCounts> {
  const states = activeStates.length
    ? sql.join(
        activeStates.map((x) => sql`${x}`),
        sql`, `,
      )
    : sql`null`;
  const [row] = (
    await tx.execute<{ open: string; missed: string; down: string; tickets: string; cis: string }>(sql`
      select (select count(*) from ${tickets} where ${tickets.state} in (${states}))::text as open,
             (select count(*) from ${measurements} where ${measurements.status} = 'MissedGoal' and ${measurements.subjectKind} = 'ticket')::text as missed,
             (select count(*) from ${cis} where ${cis.down})::text as down,
             (select count(*) from ${tickets})::text as tickets,
             (select count(*) from ${cis})::text as cis`)
  ).rows;
  return { openTickets: Number(row!.open), missedGoal: Number(row!.missed), cisDown: Number(row!.down), tickets: Number(row!.tickets), cis: Number(row!.cis) };
}

export interface RecentRecord {
  agreementId: string;
  reviewPeriod: string;
  periodStart: Date;
  /** The amended percent where amended, else the stored one (the caller works out its status). */
  percent: number | null;
  closed: boolean;
}

/** The newest `per` records of every agreement × contract × review period (started by now), newest first; `percent` is the amended one where amended. */
export async function recentRecords(tx: Tx, per: number): Promise<RecentRecord[]> {
  const r = complianceRecords;
  const rows = await tx.execute<{
    agreement_id: string;
    review_period: string;
    period_start: string;
    percent: number | null;
    closed: boolean;
  }>(sql`
    select agreement_id, review_period, period_start, percent, closed from (
      select ${r.agreementId}, ${r.reviewPeriod}, ${r.periodStart},
             coalesce((${r.doc}->>'amendedPercent')::float8, ${r.percent}) as percent, ${r.closed},
             row_number() over (partition by ${r.scope}, ${r.reviewPeriod} order by ${r.periodStart} desc) as n
      from ${r} where ${r.periodStart} <= now()
    ) x where n <= ${per}
    order by agreement_id, review_period, period_start desc`);
  return rows.rows.map((x) => ({
    agreementId: x.agreement_id,
    reviewPeriod: x.review_period,
    periodStart: new Date(x.period_start),
    percent: x.percent === null ? null : Number(x.percent),
    closed: x.closed,
  }));
}

/** The segments of `ids` over [from, to) clipped to it (an open one runs to `now`), by side, and each CI's wall-clock availability. */
export async function ciStrips(tx: Tx, ids: string[], from: number, to: number, now: number): Promise<CiStrip[]> {
  if (!ids.length) return [];
  const s = measurementSegments;
  const rows = await tx
    .select({ ciId: s.subjectId, serviceTargetId: s.serviceTargetId, status: s.status, startAt: s.startAt, stopAt: s.stopAt })
    .from(s)
    .where(
      and(
        eq(s.subjectKind, 'ci'),
        inArray(s.subjectId, ids),
        sql`${s.startAt} < ${new Date(to).toISOString()}::timestamptz and (${s.stopAt} is null or ${s.stopAt} > ${new Date(from).toISOString()}::timestamptz)`,
      ),
    )
    .orderBy(asc(s.subjectId), asc(s.startAt));
  const out = new Map<string, CiStrip>(ids.map((id) => [id, { ciId: id, availability: null, upSeconds: 0, downSeconds: 0, segments: [] }]));
  for (const r of rows) {
    const start = Math.max(from, r.startAt.getTime());
    const stop = Math.min(to, r.stopAt?.getTime() ?? Math.min(now, to));
    if (stop <= start) continue;
    const strip = out.get(r.ciId)!;
    const side = sideOf(r.status);
    strip.segments.push({ serviceTargetId: r.serviceTargetId, side, start, stop });
    if (side === 'up') strip.upSeconds += (stop - start) / 1000;
    if (side === 'down') strip.downSeconds += (stop - start) / 1000;
  }
  for (const strip of out.values()) {
    const measured = strip.upSeconds + strip.downSeconds;
    strip.availability = measured > 0 ? Math.round((strip.upSeconds / measured) * 100 * 1e6) / 1e6 : null;
    strip.upSeconds = Math.round(strip.upSeconds);
    strip.downSeconds = Math.round(strip.downSeconds);
  }
  return [...out.values()];
}

/**
 * What pulls a record down: the request measurements of `requestTargets` that missed (Missed, or
 * MissedGoal and still running) with their result in [from, to), costliest first, and the CIs of
 * `ciTargets` with the most down time in it (wall clock, clipped to the window; open outages to `now`).
 */
export async function hurting(
  tx: Tx,
  q: { requestTargets: string[]; ciTargets: string[]; from: number; to: number; now: number; tenant: string | null; limit: number },
): Promise<Hurting> {
  const from = new Date(q.from).toISOString();
  const to = new Date(q.to).toISOString();
  const m = measurements;
  const tickets = q.requestTargets.length
    ? await tx
        .select({
          ticketId: m.subjectId,
          serviceTargetId: m.serviceTargetId,
          status: m.status,
          resultAt: m.resultAt,
          impactCost: m.impactCost,
          total: sql<string>`count(*) over ()`,
        })
        .from(m)
        .where(
          and(
            eq(m.subjectKind, 'ticket'),
            inArray(m.serviceTargetId, q.requestTargets),
            inArray(m.status, ['Missed', 'MissedGoal']),
            sql`${m.resultAt} >= ${from}::timestamptz and ${m.resultAt} < ${to}::timestamptz`,
            q.tenant === null ? undefined : eq(m.tenant, q.tenant),
          ),
        )
        .orderBy(sql`${m.impactCost} desc nulls last`, desc(m.resultAt), asc(m.subjectId))
        .limit(q.limit)
    : [];
  const s = measurementSegments;
  const stop = sql`least(coalesce(${s.stopAt}, ${new Date(q.now).toISOString()}::timestamptz), ${to}::timestamptz)`;
  const start = sql`greatest(${s.startAt}, ${from}::timestamptz)`;
  const cis = q.ciTargets.length
    ? (
        await tx.execute<{ ci_id: string; target: string; down: string; outages: string }>(sql`
          select ${s.subjectId} as ci_id, ${s.serviceTargetId} as target, sum(extract(epoch from ${stop} - ${start}))::text as down, count(*)::text as outages
          from ${s}
          where ${s.subjectKind} = 'ci' and ${inArray(s.serviceTargetId, q.ciTargets)} and ${s.status} in ('down', 'alarm')
            and ${s.startAt} < ${to}::timestamptz and (${s.stopAt} is null or ${s.stopAt} > ${from}::timestamptz)
            ${q.tenant === null ? sql`` : sql`and ${s.tenant} = ${q.tenant}`}
          group by ${s.subjectId}, ${s.serviceTargetId}
          having sum(extract(epoch from ${stop} - ${start})) > 0
          order by 3 desc, 1 limit ${q.limit}`)
      ).rows
    : [];
  return {
    tickets: tickets.map((t) => ({
      ticketId: t.ticketId,
      serviceTargetId: t.serviceTargetId,
      status: t.status,
      resultAt: t.resultAt?.toISOString() ?? null,
      impactCost: t.impactCost,
    })),
    ticketsTotal: tickets.length ? Number(tickets[0]!.total) : 0,
    cis: cis.map((c) => ({ ciId: c.ci_id, serviceTargetId: c.target, downSeconds: Math.round(Number(c.down)), outages: Number(c.outages) })),
  };
}
