/** PostgreSQL reads and writes of configuration items (DESIGN §4.7): the CI rows, their segments and the KPI ledger. */
import { and, asc, count, desc, eq, ilike, inArray, or, sql } from 'drizzle-orm';
import type { Ci, KpiReading } from '../domain/ci/ci';
import type { CiMeasurementView, CiSegmentView } from '../domain/ci/engine';
import type { KpiLedger } from '../domain/ci/kpiForward';
import { ciHeadline } from '../domain/ci/notices';
import type { RejectedChange } from '../workflows/messages';
import type { Db } from './client';
import { noteComplianceChanges, tenantOfJson, writeSegments } from './queries';
import { ciKpis, cis, measurementSegments } from './schema';

const CI = 'ci';

export interface CiStateRecord {
  ciId: string;
  ci: Ci | null;
  kpis: Record<string, KpiReading>;
  measurements: CiMeasurementView[];
  /** Segments new or changed since the last save, numbered over the measurement's whole life. */
  segments: ({ serviceTargetId: string; instance: number; seq: number } & CiSegmentView)[];
  rejectedChanges: RejectedChange[];
}

/** The CI row and its new or changed segments in one transaction; true when segments changed (compliance has news). */
export async function saveCiState(db: Db, rec: CiStateRecord): Promise<boolean> {
  const head = ciHeadline(rec.measurements);
  const cls = rec.ci && typeof rec.ci.class === 'string' ? rec.ci.class : null;
  const row = {
    ciId: rec.ciId,
    ci: rec.ci,
    class: cls,
    state: head.state,
    down: head.down,
    kpis: rec.kpis,
    measurements: rec.measurements,
    rejectedChanges: rec.rejectedChanges,
    tenant: tenantOfJson(rec.ci),
    updatedAt: new Date(),
  };
  return db.transaction(async (tx) => {
    const [saved] = await tx.insert(cis).values(row).onConflictDoUpdate({ target: cis.ciId, set: row }).returning({ tenant: cis.tenant });
    const tenant = saved?.tenant ?? null;
    // Per measurement: its new or changed segments, and nothing stored past its last one.
    const byMeasurement = new Map<string, CiStateRecord['segments']>();
    for (const seg of rec.segments) {
      const k = `${seg.serviceTargetId}#${seg.instance}`;
      let list = byMeasurement.get(k);
      if (!list) byMeasurement.set(k, (list = []));
      list.push(seg);
    }
    for (const list of byMeasurement.values()) {
      const { serviceTargetId, instance } = list[0]!;
      const key = { subjectKind: CI, subjectId: rec.ciId, serviceTargetId, instance };
      const rows = list.map((s) => ({
        ...key,
        seq: s.seq,
        status: s.state,
        startAt: new Date(s.startAt),
        stopAt: s.endAt === null ? null : new Date(s.endAt),
        businessSeconds: Math.round(s.businessSeconds),
        businessMs: Math.round(s.businessSeconds * 1000),
        counts: s.state === 'down' || s.state === 'alarm' ? 'down' : s.state === 'unknown' ? 'unknown' : 'up',
        note: null,
        tenant,
      }));
      // A segment keeps the tenant the CI carried when it began (DESIGN §4.8).
      await writeSegments(tx, key, rows, list[list.length - 1]!.seq + 1, 'keep');
    }
    await noteComplianceChanges(
      tx,
      [...byMeasurement.values()].map((list) => ({ subjectKind: CI, subjectId: rec.ciId, serviceTargetId: list[0]!.serviceTargetId, instance: list[0]!.instance })),
    );
    return byMeasurement.size > 0;
  });
}

export async function getCiRow(db: Db, ciId: string) {
  const [row] = await db.select().from(cis).where(eq(cis.ciId, ciId));
  return row ?? null;
}

/** Every stored segment of one measurement, in order. */
export async function ciSegments(db: Db, ciId: string, serviceTargetId: string, instance: number): Promise<CiSegmentView[]> {
  const rows = await db
    .select()
    .from(measurementSegments)
    .where(
      and(
        eq(measurementSegments.subjectKind, CI),
        eq(measurementSegments.subjectId, ciId),
        eq(measurementSegments.serviceTargetId, serviceTargetId),
        eq(measurementSegments.instance, instance),
      ),
    )
    .orderBy(asc(measurementSegments.seq));
  return rows.map((r) => ({
    state: r.status as CiSegmentView['state'],
    startAt: r.startAt.toISOString(),
    endAt: r.stopAt?.toISOString() ?? null,
    businessSeconds: r.businessMs === null ? r.businessSeconds : r.businessMs / 1000,
  }));
}

export const CI_SORTS = { id: cis.ciId, state: cis.state, class: cis.class, updated: cis.updatedAt } as const;

export async function listCis(
  db: Db,
  opts: {
    page: number;
    pageSize: number;
    filter?: string | undefined;
    sort: keyof typeof CI_SORTS;
    descending: boolean;
    down?: boolean | undefined;
    tenant?: { field: string; value: string } | undefined;
  },
) {
  const text = opts.filter ? or(ilike(cis.ciId, `%${opts.filter}%`), ilike(cis.state, `%${opts.filter}%`), ilike(cis.class, `%${opts.filter}%`)) : undefined;
  const where = and(text, opts.down === undefined ? undefined : eq(cis.down, opts.down), opts.tenant ? sql`${cis.ci}->>${opts.tenant.field} = ${opts.tenant.value}` : undefined);
  const column = CI_SORTS[opts.sort];
  const [{ total } = { total: 0 }] = await db.select({ total: count() }).from(cis).where(where);
  const rows = await db
    .select()
    .from(cis)
    .where(where)
    .orderBy(opts.descending ? desc(column) : asc(column), asc(cis.ciId))
    .limit(opts.pageSize)
    .offset((opts.page - 1) * opts.pageSize);
  return { total, rows };
}

/**
 * One ingest batch of the KPI ledger, in one transaction: the CIs' rows locked (in id order, so two
 * batches never deadlock), `reduce` run on each, the rows written, and `deliver` called with the
 * forwards before the commit — a delivery that fails rolls the batch back, so the ledger never
 * records as forwarded what the workflow did not get.
 */
export async function reduceKpiBatch<F>(
  db: Db,
  ciIds: string[],
  reduce: (ciId: string, ledger: KpiLedger) => F[],
  deliver: (forwards: Map<string, F[]>) => Promise<void>,
): Promise<Map<string, F[]>> {
  const ids = [...new Set(ciIds)].sort();
  return db.transaction(async (tx) => {
    await tx
      .insert(ciKpis)
      .values(ids.map((ciId) => ({ ciId, readings: {}, sent: {} })))
      .onConflictDoNothing();
    const rows = await tx.select().from(ciKpis).where(inArray(ciKpis.ciId, ids)).orderBy(asc(ciKpis.ciId)).for('update');
    const forwards = new Map<string, F[]>();
    const changed: { ciId: string; readings: unknown; sent: unknown }[] = [];
    for (const row of rows) {
      const ledger: KpiLedger = { readings: row.readings as KpiLedger['readings'], sent: row.sent as KpiLedger['sent'] };
      const before = JSON.stringify(ledger.readings);
      const out = reduce(row.ciId, ledger);
      if (out.length) forwards.set(row.ciId, out);
      if (out.length || JSON.stringify(ledger.readings) !== before) changed.push({ ciId: row.ciId, readings: ledger.readings, sent: ledger.sent });
    }
    if (changed.length) {
      await tx
        .insert(ciKpis)
        .values(changed)
        .onConflictDoUpdate({ target: ciKpis.ciId, set: { readings: sql`excluded.readings`, sent: sql`excluded.sent`, updatedAt: sql`now()` } });
    }
    if (forwards.size) await deliver(forwards);
    return forwards;
  });
}

/** The KPI ledger of one CI (its latest readings), or null. */
export async function ciReadings(db: Db, ciId: string): Promise<Record<string, KpiReading> | null> {
  const [row] = await db.select({ readings: ciKpis.readings }).from(ciKpis).where(eq(ciKpis.ciId, ciId));
  return (row?.readings as Record<string, KpiReading> | undefined) ?? null;
}

/** The tenant each CI carries in `field` (null when none; absent when the CI is not stored yet). */
export async function ciTenants(db: Db, ciIds: string[], field: string): Promise<Map<string, string | null>> {
  if (ciIds.length === 0) return new Map();
  const rows = await db
    .select({ ciId: cis.ciId, tenant: sql<string | null>`${cis.ci}->>${field}` })
    .from(cis)
    .where(inArray(cis.ciId, ciIds));
  return new Map(rows.map((r) => [r.ciId, r.tenant]));
}
