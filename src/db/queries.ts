/** Named queries over the schema; activities and the CLI call these, never raw SQL. */
import { createHash } from 'node:crypto';
import { and, asc, count, desc, eq, gte, ilike, or, sql } from 'drizzle-orm';
import type { Definitions } from '../domain/definitions';
import type { Measurement, MeasurementView } from '../domain/measurement';
import type { Ticket } from '../domain/ticket';
import type { Db } from './client';
import { actionLog, definitions, measurements, measurementSegments, milestoneFirings, tickets, type MeasurementRow, type TicketRow } from './schema';

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
}

const ts = (iso: string | null) => (iso === null ? null : new Date(iso));

/** Writes the ticket row and its measurements in one transaction. */
export async function saveTicketState(db: Db, rec: TicketStateRecord): Promise<void> {
  await db.transaction(async (tx) => {
    const row = {
      ticketId: rec.ticketId,
      ticket: rec.ticket,
      state: rec.ticket.state ?? null,
      priority: typeof rec.ticket.priority === 'number' ? rec.ticket.priority : null,
      problemId: rec.problem?.id ?? null,
      incidentNumber: rec.problem?.incidentNumber ?? null,
      link: rec.problem?.link ?? null,
      problemStatus: rec.problem?.status ?? null,
      lastSyncAt: rec.problem?.lastSyncAt ? new Date(rec.problem.lastSyncAt) : null,
      lastError: rec.lastError,
      syncClosed: rec.syncClosed ?? false,
      updatedAt: new Date(),
    };
    await tx.insert(tickets).values(row).onConflictDoUpdate({ target: tickets.ticketId, set: row });
    for (const { state, view } of rec.measurements ?? []) {
      const m = {
        ticketId: rec.ticketId,
        serviceTargetId: view.serviceTargetId,
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
        updatedAt: new Date(),
      };
      await tx
        .insert(measurements)
        .values(m)
        .onConflictDoUpdate({ target: [measurements.ticketId, measurements.serviceTargetId], set: m });
      const key = { ticketId: rec.ticketId, serviceTargetId: view.serviceTargetId };
      // A re-attached target starts a new measurement: its old segments and firings go.
      await tx.delete(measurementSegments).where(and(eq(measurementSegments.ticketId, key.ticketId), eq(measurementSegments.serviceTargetId, key.serviceTargetId), gte(measurementSegments.seq, view.segments.length)));
      if (view.segments.length) {
        const rows = view.segments.map((s, seq) => ({ ...key, seq, status: s.status, startAt: new Date(s.start), stopAt: ts(s.stop), businessSeconds: s.businessSeconds, counts: s.counts, note: s.note ?? null }));
        await tx.insert(measurementSegments).values(rows).onConflictDoUpdate({
          target: [measurementSegments.ticketId, measurementSegments.serviceTargetId, measurementSegments.seq],
          set: { status: sql`excluded.status`, startAt: sql`excluded.start_at`, stopAt: sql`excluded.stop_at`, businessSeconds: sql`excluded.business_seconds`, counts: sql`excluded.counts`, note: sql`excluded.note` },
        });
      }
      if (view.firings.length === 0) {
        await tx.delete(milestoneFirings).where(and(eq(milestoneFirings.ticketId, key.ticketId), eq(milestoneFirings.serviceTargetId, key.serviceTargetId)));
      } else {
        const rows = view.firings.map((f) => ({ ...key, milestone: f.milestone, occurrence: f.occurrence, dueAt: new Date(f.dueAt), firedAt: new Date(f.firedAt), skipped: f.skipped, actions: f.actions }));
        await tx.insert(milestoneFirings).values(rows).onConflictDoUpdate({
          target: [milestoneFirings.ticketId, milestoneFirings.serviceTargetId, milestoneFirings.milestone, milestoneFirings.occurrence],
          set: { dueAt: sql`excluded.due_at`, firedAt: sql`excluded.fired_at`, skipped: sql`excluded.skipped`, actions: sql`excluded.actions` },
        });
      }
    }
  });
}

export async function loadTicketState(db: Db, ticketId: string): Promise<Omit<TicketStateRecord, 'measurements'> & { measurements: Measurement[] } | null> {
  const [row] = await db.select().from(tickets).where(eq(tickets.ticketId, ticketId));
  if (!row) return null;
  const ms = await db.select().from(measurements).where(eq(measurements.ticketId, ticketId));
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
  };
}

export async function getTicketRow(db: Db, ticketId: string): Promise<{ ticket: TicketRow; measurements: MeasurementRow[] } | null> {
  const [ticket] = await db.select().from(tickets).where(eq(tickets.ticketId, ticketId));
  if (!ticket) return null;
  const ms = await db.select().from(measurements).where(eq(measurements.ticketId, ticketId)).orderBy(asc(measurements.serviceTargetId));
  return { ticket, measurements: ms };
}

export const TICKET_SORTS = { id: tickets.ticketId, state: tickets.state, updated: tickets.updatedAt, priority: tickets.priority } as const;

export async function listTickets(
  db: Db,
  opts: { page: number; pageSize: number; filter?: string; sort: keyof typeof TICKET_SORTS; descending: boolean },
): Promise<{ total: number; rows: TicketRow[] }> {
  const where = opts.filter
    ? or(ilike(tickets.ticketId, `%${opts.filter}%`), ilike(tickets.state, `%${opts.filter}%`), ilike(tickets.incidentNumber, `%${opts.filter}%`))
    : undefined;
  const column = TICKET_SORTS[opts.sort];
  const [{ total } = { total: 0 }] = await db.select({ total: count() }).from(tickets).where(where);
  const rows = await db
    .select()
    .from(tickets)
    .where(where)
    .orderBy(opts.descending ? desc(column) : asc(column), asc(tickets.ticketId))
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
  return db.select().from(measurementSegments).where(eq(measurementSegments.ticketId, ticketId)).orderBy(asc(measurementSegments.serviceTargetId), asc(measurementSegments.seq));
}

export async function listFirings(db: Db, ticketId: string) {
  return db.select().from(milestoneFirings).where(eq(milestoneFirings.ticketId, ticketId)).orderBy(asc(milestoneFirings.firedAt));
}
