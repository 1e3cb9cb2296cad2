/** Named queries over the schema; activities and the CLI call these, never raw SQL. */
import { createHash } from 'node:crypto';
import { and, asc, count, desc, eq, gte, ilike, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { Definitions } from '../domain/definitions';
import type { Measurement, MeasurementView } from '../domain/request/measurement';
import { priorityRank, textField, type Ticket } from '../domain/ticket';
import type { RejectedChange } from '../workflows/messages';
import type { Db } from './client';
import {
  actionLog,
  apiIdempotency,
  complianceChanges,
  ingestOutbox,
  definitions,
  measurements,
  measurementSegments,
  milestoneFirings,
  snowSlots,
  ticketVersions,
  tickets,
  type MeasurementRow,
  type TicketRow,
} from './schema';

export interface SavedProblem {
  id: string;
  incidentNumber: string | null;
  link: string | null;
  status: string | null;
  lastSyncAt: number | null;
}

export interface TicketStateRecord {
  ticketId: string;
  ticket: Ticket;
  /** Null when the measurements did not change since the last save: only the ticket row is written. */
  measurements: { state: Measurement; view: MeasurementView }[] | null;
  problem: SavedProblem | null;
  lastError: string | null;
  syncClosed?: boolean;
  rejectedChanges?: RejectedChange[];
}

/** Measurements are stored by subject: a ticket's (request targets) or a CI's (availability, performance). */
const TICKET = 'ticket';
const ofTicket = (t: typeof measurements | typeof measurementSegments | typeof milestoneFirings, ticketId: string) => and(eq(t.subjectKind, TICKET), eq(t.subjectId, ticketId));

const ts = (iso: string | null) => (iso === null ? null : new Date(iso));

/** Writes the ticket row and its measurements in one transaction. */
type SegmentKey = { subjectKind: string; subjectId: string; serviceTargetId: string; instance: number };

/**
 * A measurement's segment rows (tickets and CIs alike): those from `seq` `end` on removed (a state
 * replaced, inherited segments that shrank), `rows` written over what is stored.
 */
export async function writeSegments(
  tx: Pick<Db, 'insert' | 'delete'>,
  key: SegmentKey,
  rows: (typeof measurementSegments.$inferInsert)[],
  end: number,
  /** `keep`: a stored segment keeps the tenant it began with (CIs); `replace`: the one given (tickets). */
  tenant: 'keep' | 'replace' = 'replace',
): Promise<void> {
  const t = measurementSegments;
  await tx
    .delete(t)
    .where(and(eq(t.subjectKind, key.subjectKind), eq(t.subjectId, key.subjectId), eq(t.serviceTargetId, key.serviceTargetId), eq(t.instance, key.instance), gte(t.seq, end)));
  if (rows.length === 0) return;
  await tx
    .insert(t)
    .values(rows)
    .onConflictDoUpdate({
      target: [t.subjectKind, t.subjectId, t.serviceTargetId, t.instance, t.seq],
      set: {
        status: sql`excluded.status`,
        startAt: sql`excluded.start_at`,
        stopAt: sql`excluded.stop_at`,
        businessSeconds: sql`excluded.business_seconds`,
        businessMs: sql`excluded.business_ms`,
        counts: sql`excluded.counts`,
        note: sql`excluded.note`,
        ...(tenant === 'replace' ? { tenant: sql`excluded.tenant` } : {}),
      },
    });
}

/** The tenant a subject's JSON carries in the definitions' `tenantField` (null without tenancy), as SQL. */
export const tenantOfJson = (json: unknown) =>
  sql<string | null>`(${JSON.stringify(json)}::jsonb ->> (select ${definitions.body} ->> 'tenantField' from ${definitions} order by ${definitions.version} desc limit 1))`;

/** Tells compliance these measurements changed (DESIGN §4.8): rows of the feed its tick reads. */
export async function noteComplianceChanges(tx: Pick<Db, 'insert'>, keys: SegmentKey[]): Promise<void> {
  if (keys.length) await tx.insert(complianceChanges).values(keys);
}

/** Where compliance counts a request result (DESIGN §4.8): the stop for Met, the due instant for a miss, the due instant of a running one. */
export function resultInstant(view: Pick<MeasurementView, 'status' | 'stoppedAt' | 'missedGoalAt' | 'dueAt'>): Date | null {
  switch (view.status) {
    case 'Met':
      return ts(view.stoppedAt);
    case 'Missed':
    case 'MissedGoal':
      return ts(view.missedGoalAt ?? view.dueAt);
    case 'InProcess':
      return ts(view.dueAt);
    default:
      return null;
  }
}

/** Writes the ticket row and its measurements in one transaction; true when measurements changed (compliance has news). */
export async function saveTicketState(db: Db, rec: TicketStateRecord): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = {
      ticketId: rec.ticketId,
      ticket: rec.ticket,
      state: textField(rec.ticket, 'state'),
      // The leading number of a free-form priority ("2 normal" → 2), for sorting; the ticket keeps the value.
      priority: priorityRank(rec.ticket.priority),
      problemId: rec.problem?.id ?? null,
      incidentNumber: rec.problem?.incidentNumber ?? null,
      link: rec.problem?.link ?? null,
      problemStatus: rec.problem?.status ?? null,
      lastSyncAt: rec.problem?.lastSyncAt ? new Date(rec.problem.lastSyncAt) : null,
      lastError: rec.lastError,
      syncClosed: rec.syncClosed ?? false,
      ...(rec.rejectedChanges ? { rejectedChanges: rec.rejectedChanges } : {}),
      tenant: tenantOfJson(rec.ticket),
      updatedAt: new Date(),
    };
    const [saved] = await tx.insert(tickets).values(row).onConflictDoUpdate({ target: tickets.ticketId, set: row }).returning({ tenant: tickets.tenant });
    const tenant = saved?.tenant ?? null;
    const changed: SegmentKey[] = [];
    for (const { state, view } of rec.measurements ?? []) {
      const instance = state.instance ?? 0;
      const m = {
        subjectKind: TICKET,
        subjectId: rec.ticketId,
        serviceTargetId: view.serviceTargetId,
        instance,
        status: view.status,
        startedAt: ts(view.startedAt),
        stoppedAt: ts(view.stoppedAt),
        dueAt: ts(view.dueAt),
        missedGoalAt: ts(view.missedGoalAt),
        goalSeconds: view.goalSeconds,
        elapsedSeconds: view.elapsedSeconds,
        pausedSeconds: view.pausedSeconds,
        metMissedSeconds: view.metMissedSeconds,
        impactCost: view.impactCost,
        reason: view.reason,
        definitionVersion: view.definitionVersion,
        calendarId: view.calendar,
        inheritedFrom: view.inheritedFrom ?? null,
        inheritedBy: view.inheritedBy ?? null,
        engineState: state,
        tenant,
        resultAt: resultInstant(view),
        updatedAt: new Date(),
      };
      const t = measurements;
      await tx
        .insert(t)
        .values(m)
        .onConflictDoUpdate({
          target: [t.subjectKind, t.subjectId, t.serviceTargetId, t.instance],
          // A result keeps the tenant it was counted with: the ticket's at its result instant (DESIGN §4.8).
          set: {
            ...m,
            tenant: sql`case when (${t.status} in ('MissedGoal', 'Missed') and excluded.status in ('MissedGoal', 'Missed')) or (${t.status} = 'Met' and excluded.status = 'Met') then ${t.tenant} else excluded.tenant end`,
          },
        });
      const key = { subjectKind: TICKET, subjectId: rec.ticketId, serviceTargetId: view.serviceTargetId, instance };
      changed.push(key);
      const ofKey = <T extends typeof measurementSegments | typeof milestoneFirings>(t: T) =>
        and(eq(t.subjectKind, key.subjectKind), eq(t.subjectId, key.subjectId), eq(t.serviceTargetId, key.serviceTargetId), eq(t.instance, key.instance));
      // Segments past the measurement's current count (a group member's inherited ones can shrink).
      await writeSegments(
        tx,
        key,
        view.segments.map((s, seq) => ({
          ...key,
          seq,
          status: s.status,
          startAt: new Date(s.start),
          stopAt: ts(s.stop),
          businessSeconds: s.businessSeconds,
          counts: s.counts,
          note: s.note ?? null,
          tenant,
        })),
        view.segments.length,
      );
      if (view.firings.length === 0) {
        await tx.delete(milestoneFirings).where(ofKey(milestoneFirings));
      } else {
        const rows = view.firings.map((f) => ({
          ...key,
          milestone: f.milestone,
          occurrence: f.occurrence,
          dueAt: new Date(f.dueAt),
          firedAt: new Date(f.firedAt),
          skipped: f.skipped,
          actions: f.actions,
        }));
        await tx
          .insert(milestoneFirings)
          .values(rows)
          .onConflictDoUpdate({
            target: [
              milestoneFirings.subjectKind,
              milestoneFirings.subjectId,
              milestoneFirings.serviceTargetId,
              milestoneFirings.instance,
              milestoneFirings.milestone,
              milestoneFirings.occurrence,
            ],
            set: { dueAt: sql`excluded.due_at`, firedAt: sql`excluded.fired_at`, skipped: sql`excluded.skipped`, actions: sql`excluded.actions` },
          });
      }
    }
    await noteComplianceChanges(tx, changed);
    return changed.length > 0;
  });
}

export async function loadTicketState(db: Db, ticketId: string): Promise<(Omit<TicketStateRecord, 'measurements'> & { measurements: Measurement[] }) | null> {
  const [row] = await db.select().from(tickets).where(eq(tickets.ticketId, ticketId));
  if (!row) return null;
  const ms = await db
    .select()
    .from(measurements)
    .where(ofTicket(measurements, ticketId))
    .orderBy(sql`(${measurements.engineState}->>'attachedAt')::bigint`, asc(measurements.instance));
  return {
    ticketId,
    ticket: row.ticket as Ticket,
    measurements: ms.map((m) => m.engineState as Measurement),
    problem: row.problemId
      ? {
          id: row.problemId,
          incidentNumber: row.incidentNumber,
          link: row.link,
          status: row.problemStatus,
          lastSyncAt: row.lastSyncAt?.getTime() ?? null,
        }
      : null,
    lastError: row.lastError,
    syncClosed: row.syncClosed,
    rejectedChanges: row.rejectedChanges as RejectedChange[],
  };
}

export async function getTicketRow(db: Db, ticketId: string): Promise<{ ticket: TicketRow; measurements: MeasurementRow[] } | null> {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.ticketId, ticketId));
  if (!ticket) return null;
  const ms = await db.select().from(measurements).where(ofTicket(measurements, ticketId)).orderBy(asc(measurements.serviceTargetId), asc(measurements.instance));
  return { ticket, measurements: ms };
}

export const TICKET_SORTS = { id: tickets.ticketId, state: tickets.state, updated: tickets.updatedAt, priority: tickets.priority, lastSync: tickets.lastSyncAt } as const;

export async function listTickets(
  db: Db,
  opts: {
    page: number;
    pageSize: number;
    filter?: string | undefined;
    sort: keyof typeof TICKET_SORTS;
    descending: boolean;
    /** Only the tickets whose `field` holds `value` (a tenant-bound API token). */
    tenant?: { field: string; value: string } | undefined;
  },
): Promise<{ total: number; rows: TicketRow[] }> {
  const text = opts.filter
    ? or(ilike(tickets.ticketId, `%${opts.filter}%`), ilike(tickets.state, `%${opts.filter}%`), ilike(tickets.incidentNumber, `%${opts.filter}%`))
    : undefined;
  const where = opts.tenant ? and(sql`${tickets.ticket}->>${opts.tenant.field} = ${opts.tenant.value}`, text) : text;
  const column = TICKET_SORTS[opts.sort];
  const [{ total } = { total: 0 }] = await db.select({ total: count() }).from(tickets).where(where);
  const rows = await db
    .select()
    .from(tickets)
    .where(where)
    // Ties break by id in the same direction: one index walk (forwards or backwards), however deep the page.
    .orderBy(...(opts.descending ? [desc(column), desc(tickets.ticketId)] : [asc(column), asc(tickets.ticketId)]))
    .limit(opts.pageSize)
    .offset((opts.page - 1) * opts.pageSize);
  return { total, rows };
}

export function digestOf(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}

/** Stores a validated definitions document unless the newest one is identical. Returns its version. */
export async function applyDefinitions(db: Db, body: Definitions, source: string | null): Promise<{ version: number; changed: boolean }> {
  const digest = digestOf(body);
  return db.transaction(async (tx) => {
    await tx.execute(sql`LOCK TABLE ${definitions} IN EXCLUSIVE MODE`);
    const [latest] = await tx.select().from(definitions).orderBy(desc(definitions.version)).limit(1);
    if (latest && latest.digest === digest) return { version: latest.version, changed: false };
    const [row] = await tx.insert(definitions).values({ body, digest, source }).returning({ version: definitions.version });
    return { version: row!.version, changed: true };
  });
}

export async function latestDefinitions(db: Db): Promise<{ version: number; body: Definitions } | null> {
  const [latest] = await db.select().from(definitions).orderBy(desc(definitions.version)).limit(1);
  return latest ? { version: latest.version, body: latest.body as Definitions } : null;
}

/** The recorded outcome of a milestone action, if it was carried out already. */
export async function findAction(db: Db, key: string): Promise<{ status: string; detail: string | null } | null> {
  const [row] = await db.select().from(actionLog).where(eq(actionLog.key, key));
  return row ? { status: row.status, detail: row.detail } : null;
}

export async function recordAction(db: Db, key: string, status: string, detail: string | null): Promise<void> {
  await db.insert(actionLog).values({ key, status, detail }).onConflictDoNothing();
}

export async function listSegments(db: Db, ticketId: string) {
  return db
    .select()
    .from(measurementSegments)
    .where(ofTicket(measurementSegments, ticketId))
    .orderBy(asc(measurementSegments.serviceTargetId), asc(measurementSegments.instance), asc(measurementSegments.seq));
}

export async function listFirings(db: Db, ticketId: string) {
  return db.select().from(milestoneFirings).where(ofTicket(milestoneFirings, ticketId)).orderBy(asc(milestoneFirings.firedAt));
}

// ── the fleet-wide SNOW request slots ───────────────────────────────────────────────────────────

/** Databases whose slot rows this process has made sure of (once per process, not per claim). */
const slotRowsMade = new WeakSet<Db>();

/**
 * Claims one free SNOW slot below `slots` for `holder` (free: never held, released, or its lease run
 * out), leased for `leaseMs`. Returns the slot, or null when all are held. Times are the database's,
 * so the workers' clocks never disagree about a lease.
 */
export async function claimSnowSlot(db: Db, holder: string, slots: number, leaseMs: number): Promise<number | null> {
  if (!slotRowsMade.has(db)) {
    await db
      .insert(snowSlots)
      .values(Array.from({ length: slots }, (_, slot) => ({ slot, holder: null, expiresAt: new Date(0) })))
      .onConflictDoNothing();
    slotRowsMade.add(db);
  }
  const rows = await db.execute<{ slot: number }>(sql`
    UPDATE ${snowSlots} SET holder = ${holder}, expires_at = now() + ${leaseMs} * interval '1 millisecond'
    WHERE slot = (
      SELECT slot FROM ${snowSlots}
      WHERE slot < ${slots} AND (holder IS NULL OR expires_at < now())
      ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING slot`);
  return rows.rows[0]?.slot ?? null;
}

/** Extends the leases `holder` still has among `held`; returns the slots it still holds. */
export async function renewSnowSlots(db: Db, holder: string, held: number[], leaseMs: number): Promise<number[]> {
  if (held.length === 0) return [];
  const rows = await db.execute<{ slot: number }>(sql`
    UPDATE ${snowSlots} SET expires_at = now() + ${leaseMs} * interval '1 millisecond'
    WHERE holder = ${holder} AND expires_at >= now() AND slot IN (${sql.join(
      held.map((h) => sql`${h}`),
      sql`, `,
    )})
    RETURNING slot`);
  return rows.rows.map((r) => r.slot);
}

/** Gives a slot back at once (an idle worker, or a clean shutdown). */
export async function releaseSnowSlots(db: Db, holder: string, slots: number[]): Promise<void> {
  if (slots.length === 0) return;
  await db
    .update(snowSlots)
    .set({ holder: null, expiresAt: new Date(0) })
    .where(and(eq(snowSlots.holder, holder), inArray(snowSlots.slot, slots)));
}

/** Every slot with its holder and lease end (for operators and tests). */
export async function listSnowSlots(db: Db) {
  return db.select().from(snowSlots).orderBy(asc(snowSlots.slot));
}

// ── the HTTP API's records ───────────────────────────────────────────────────────────────────────

export type IdempotencyClaim = { kind: 'new' } | { kind: 'done'; status: number; response: unknown } | { kind: 'running' } | { kind: 'mismatch' };

/**
 * Claims an Idempotency-Key for a request: `new` when this is the first (the caller then finishes or
 * releases it), `done` with the first answer, `running` while the first is still in flight,
 * `mismatch` when the key was used for another request. Keys older than `ttlSeconds` are forgotten.
 */
export async function claimIdempotencyKey(db: Db, principal: string, key: string, request: string, ttlSeconds: number): Promise<IdempotencyClaim> {
  await db
    .delete(apiIdempotency)
    .where(and(eq(apiIdempotency.principal, principal), eq(apiIdempotency.key, key), sql`${apiIdempotency.createdAt} < now() - make_interval(secs => ${ttlSeconds})`));
  const inserted = await db.insert(apiIdempotency).values({ principal, key, request }).onConflictDoNothing().returning({ key: apiIdempotency.key });
  if (inserted.length > 0) return { kind: 'new' };
  const [row] = await db
    .select()
    .from(apiIdempotency)
    .where(and(eq(apiIdempotency.principal, principal), eq(apiIdempotency.key, key)));
  if (!row) return claimIdempotencyKey(db, principal, key, request, ttlSeconds);
  if (row.request !== request) return { kind: 'mismatch' };
  return row.status === null ? { kind: 'running' } : { kind: 'done', status: row.status, response: row.response };
}

export async function finishIdempotencyKey(db: Db, principal: string, key: string, status: number, response: unknown): Promise<void> {
  await db
    .update(apiIdempotency)
    .set({ status, response })
    .where(and(eq(apiIdempotency.principal, principal), eq(apiIdempotency.key, key)));
}

/** The first request failed (nothing was applied that a retry would not apply again): the key is free. */
export async function releaseIdempotencyKey(db: Db, principal: string, key: string): Promise<void> {
  await db.delete(apiIdempotency).where(and(eq(apiIdempotency.principal, principal), eq(apiIdempotency.key, key), isNull(apiIdempotency.status)));
}

/** Removes keys past their time (run now and then by the API). */
export async function purgeIdempotencyKeys(db: Db, ttlSeconds: number): Promise<void> {
  await db.delete(apiIdempotency).where(sql`${apiIdempotency.createdAt} < now() - make_interval(secs => ${ttlSeconds})`);
}

/**
 * Records `version` as the newest taken in for the ticket unless a newer one is recorded (one atomic
 * statement, so concurrent deliveries are ordered): returns null when taken in, else the newer
 * version's raw text (the snapshot is stale). Versions of another kind replace the record.
 */
export async function takeTicketVersion(db: Pick<Db, 'insert' | 'select'>, ticketId: string, v: { kind: string; value: number; raw: string }): Promise<string | null> {
  const rows = await db
    .insert(ticketVersions)
    .values({ ticketId, kind: v.kind, version: v.value, raw: v.raw })
    .onConflictDoUpdate({
      target: ticketVersions.ticketId,
      set: { kind: v.kind, version: v.value, raw: v.raw, updatedAt: new Date() },
      setWhere: sql`${ticketVersions.kind} <> ${v.kind} OR ${ticketVersions.version} <= ${v.value}`,
    })
    .returning({ ticketId: ticketVersions.ticketId });
  if (rows.length > 0) return null;
  const [row] = await db.select({ raw: ticketVersions.raw }).from(ticketVersions).where(eq(ticketVersions.ticketId, ticketId));
  return row?.raw ?? '';
}

export interface OutboxChange {
  ticketId: string;
  kind: 'snapshot' | 'patch';
  body: unknown;
  /** The change's `updatedAt` as a version, when it has one: ordered against the newest taken in. */
  version: { kind: string; value: number; raw: string } | null;
}

/**
 * Takes changes in for forwarding, in one transaction: each with a version older than the newest
 * taken in for its ticket is left out and returned as stale (with the newer one's text); the others
 * are queued in order. Nothing is queued if the transaction fails.
 */
export async function enqueueChanges(db: Db, changes: OutboxChange[]): Promise<{ stale: { ticketId: string; applied: string; index: number }[] }> {
  return db.transaction(async (tx) => {
    const stale: { ticketId: string; applied: string; index: number }[] = [];
    const rows: { ticketId: string; kind: string; body: unknown }[] = [];
    for (const [index, c] of changes.entries()) {
      if (c.version) {
        const newer = await takeTicketVersion(tx, c.ticketId, c.version);
        if (newer !== null) {
          stale.push({ ticketId: c.ticketId, applied: newer, index });
          continue;
        }
      }
      rows.push({ ticketId: c.ticketId, kind: c.kind, body: c.body });
    }
    if (rows.length) await tx.insert(ingestOutbox).values(rows);
    return { stale };
  });
}

/** Changes queued and not yet forwarded (all tickets, or one). */
export async function outboxBacklog(db: Db, ticketId?: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(ingestOutbox)
    .where(ticketId === undefined ? undefined : eq(ingestOutbox.ticketId, ticketId));
  return row?.n ?? 0;
}

/**
 * Forwards up to `limit` queued changes: the oldest of each ticket not being forwarded elsewhere
 * (rows locked with SKIP LOCKED; a later change of a ticket waits for its predecessor), handed to
 * `send` in the transaction, and removed when `send` says they went out. Returns how many went out
 * and how many failed (those stay queued).
 */
export async function forwardOutbox(
  db: Db,
  limit: number,
  send: (rows: { seq: number; ticketId: string; kind: 'snapshot' | 'patch'; body: unknown }[]) => Promise<number[]>,
): Promise<{ sent: number; failed: number }> {
  return db.transaction(async (tx) => {
    const heads = await tx.execute<{ seq: string; ticket_id: string; kind: string; body: unknown }>(sql`
      SELECT o.seq, o.ticket_id, o.kind, o.body FROM ${ingestOutbox} o
      WHERE NOT EXISTS (SELECT 1 FROM ${ingestOutbox} p WHERE p.ticket_id = o.ticket_id AND p.seq < o.seq)
      ORDER BY o.seq LIMIT ${limit} FOR UPDATE SKIP LOCKED`);
    const rows = heads.rows.map((r) => ({ seq: Number(r.seq), ticketId: r.ticket_id, kind: r.kind as 'snapshot' | 'patch', body: r.body }));
    if (rows.length === 0) return { sent: 0, failed: 0 };
    const done = await send(rows);
    if (done.length) await tx.delete(ingestOutbox).where(inArray(ingestOutbox.seq, done));
    return { sent: done.length, failed: rows.length - done.length };
  });
}

/** The value of `field` in the ticket's saved snapshot (its tenant), or undefined when the ticket is unknown. */
export async function ticketFieldValue(db: Db, ticketId: string, field: string): Promise<string | null | undefined> {
  const [row] = await db
    .select({ v: sql<string | null>`${tickets.ticket}->>${field}` })
    .from(tickets)
    .where(eq(tickets.ticketId, ticketId));
  return row === undefined ? undefined : row.v;
}

/** What `/metrics` reports from the store. */
export async function storeCounts(db: Db): Promise<{ ticketsOpen: number; measurementsByStatus: Record<string, number>; breaches: number; milestonesFired: number }> {
  const [[open], byStatus, [breaches], [fired]] = await Promise.all([
    // Open: the ticket's own state is not Resolved or Closed (as `isClosedState` reads it).
    db
      .select({ n: count() })
      .from(tickets)
      .where(sql`coalesce(lower(${tickets.state}), '') not in ('resolved', 'closed')`),
    db.select({ status: measurements.status, n: count() }).from(measurements).groupBy(measurements.status),
    db
      .select({ n: count() })
      .from(measurements)
      .where(or(isNotNull(measurements.missedGoalAt), eq(measurements.status, 'Missed'))),
    db.select({ n: count() }).from(milestoneFirings).where(isNull(milestoneFirings.skipped)),
  ]);
  return {
    ticketsOpen: open?.n ?? 0,
    measurementsByStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
    breaches: breaches?.n ?? 0,
    milestonesFired: fired?.n ?? 0,
  };
}
