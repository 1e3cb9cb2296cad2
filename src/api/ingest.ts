/**
 * Taking ticket changes in over HTTP: the rules a webhook receiver needs that the CLI does not —
 * tenancy of the token, out-of-order deliveries (`updatedAt`), a bound on work in flight. The changes
 * themselves go through the application layer like every front end's.
 */
import { updateTicket, upsertTicket } from '../app/tickets';
import type { AppPorts } from '../app/ports';
import { enqueueChanges, takeTicketVersion, ticketFieldValue } from '../db/queries';
import { versionOf } from '../domain/sources';
import type { Ticket, TicketValue } from '../domain/ticket';
import type { MeasurementView } from '../domain/request/measurement';
import type { UpsertResult } from '../workflows/messages';
import type { ApiToken } from './auth';
import type { Forwarder } from './forwarder';

/** A refusal the caller can act on: its HTTP status and one line. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Work in flight, bounded: a request takes as many units as it carries changes, or is refused with
 * 429 and `Retry-After` instead of queueing without end.
 */
export class InflightLimit {
  private used = 0;
  constructor(readonly max: number) {}
  get inFlight(): number {
    return this.used;
  }
  async run<T>(units: number, fn: () => Promise<T>): Promise<T> {
    if (this.used > 0 && this.used + units > this.max) {
      throw new ApiError(429, `too many changes in flight (${this.used} of ${this.max}); retry after 1 s`, { 'retry-after': '1' });
    }
    this.used += units;
    try {
      return await fn();
    } finally {
      this.used -= units;
    }
  }
}

/** The tenant rules of one token against the definitions' `tenantField`. */
export function tenantFieldFor(token: ApiToken, tenantField: string | undefined): string | null {
  if (token.tenant === null) return null;
  if (!tenantField) throw new ApiError(403, `forbidden: token "${token.name}" is bound to a tenant, but the definitions set no tenantField`);
  return tenantField;
}

/**
 * A tenant-bound token's change to one ticket (a snapshot or a merge patch): it carries the token's
 * tenant (set when absent, refused when another), and may not touch a ticket another tenant owns.
 */
async function scopeChange<T extends Record<string, TicketValue>>(ports: AppPorts, token: ApiToken, tenantField: string | undefined, ticketId: string, change: T): Promise<T> {
  const field = tenantFieldFor(token, tenantField);
  if (field === null) return change;
  const carried = change[field];
  if (carried !== undefined && carried !== token.tenant) throw new ApiError(403, `forbidden: ticket ${ticketId}: ${field} is not this token's tenant`);
  const owner = await ticketFieldValue(await ports.db(), ticketId, field);
  if (owner !== undefined && owner !== token.tenant) throw new ApiError(403, `forbidden: ticket ${ticketId} belongs to another tenant`);
  // Without the field, it gets the token's (for a patch onto the tenant's own ticket, a no-op).
  return carried === undefined ? { ...change, [field]: token.tenant } : change;
}

export const scopeTicket = (ports: AppPorts, token: ApiToken, tenantField: string | undefined, ticket: Ticket): Promise<Ticket> =>
  scopeChange(ports, token, tenantField, ticket.id, ticket);

export const scopePatch = (ports: AppPorts, token: ApiToken, tenantField: string | undefined, ticketId: string, patch: Record<string, TicketValue>) =>
  scopeChange(ports, token, tenantField, ticketId, patch);

export interface StaleChange {
  ticketId: string;
  updatedAt: unknown;
  /** The newer `updatedAt` already taken in. */
  applied: string;
}

export interface IngestOutcome {
  accepted: { ticketId: string; workflowId: string }[];
  stale: StaleChange[];
  /** With `?wait=true`: each accepted change's measurements, as `slm ticket upsert` reports them. */
  results?: { ticketId: string; measurements: MeasurementView[] }[];
}

/**
 * Takes validated snapshots in. Without `wait`, they are queued for their workflows in one
 * PostgreSQL transaction and answered at once (202): each with an `updatedAt` older than the newest
 * taken in for its ticket is reported stale and not queued, and past `maxPending` queued changes the
 * whole request is refused with 429 (nothing queued). With `wait`, each goes to its workflow once
 * the ticket's queued changes are out, and the answer carries its measurements.
 */
export async function ingestSnapshots(ports: AppPorts, forwarder: Forwarder, maxPending: number, tickets: Ticket[], wait: boolean): Promise<IngestOutcome> {
  if (!wait) {
    await refuseWhenFull(forwarder, maxPending, tickets.length);
    const { stale } = await enqueueChanges(
      await ports.db(),
      tickets.map((t) => ({ ticketId: t.id, kind: 'snapshot' as const, body: t, version: changeVersion(t.updatedAt) })),
    );
    forwarder.kick();
    const staleAt = new Set(stale.map((x) => x.index));
    return {
      accepted: tickets.filter((_, i) => !staleAt.has(i)).map((t) => ({ ticketId: t.id, workflowId: `ticket:${t.id}` })),
      stale: stale.map((x) => ({ ticketId: x.ticketId, updatedAt: tickets[x.index]!.updatedAt, applied: x.applied })),
    };
  }
  const out: IngestOutcome = { accepted: [], stale: [], results: [] };
  for (const t of tickets) {
    const newer = await newerTaken(ports, t.id, t.updatedAt);
    if (newer !== null) {
      out.stale.push({ ticketId: t.id, updatedAt: t.updatedAt, applied: newer });
      continue;
    }
    await forwarder.drained(t.id);
    const r = await upsertTicket(ports, t);
    out.results!.push({ ticketId: r.ticketId, measurements: r.measurements });
    out.accepted.push({ ticketId: t.id, workflowId: `ticket:${t.id}` });
  }
  return out;
}

/**
 * A validated merge patch: queued for its workflow (202), or, with `wait`, sent once the ticket's
 * queued changes are out and answered with the merged ticket and its measurements (200), within
 * the in-flight bound. One with an older `updatedAt` than the newest taken in is stale either way.
 */
export async function ingestPatch(
  ports: AppPorts,
  forwarder: Forwarder,
  bounds: { maxPending: number; inflight: InflightLimit },
  ticketId: string,
  patch: Record<string, TicketValue>,
  wait: boolean,
): Promise<{ status: 200; body: UpsertResult } | { status: 202; body: IngestOutcome }> {
  const staleOf = (applied: string): IngestOutcome => ({ accepted: [], stale: [{ ticketId, updatedAt: patch.updatedAt, applied }] });
  if (!wait) {
    await refuseWhenFull(forwarder, bounds.maxPending, 1);
    const { stale } = await enqueueChanges(await ports.db(), [{ ticketId, kind: 'patch', body: patch, version: changeVersion(patch.updatedAt) }]);
    forwarder.kick();
    return { status: 202, body: stale.length ? staleOf(stale[0]!.applied) : { accepted: [{ ticketId, workflowId: `ticket:${ticketId}` }], stale: [] } };
  }
  const newer = await newerTaken(ports, ticketId, patch.updatedAt);
  if (newer !== null) return { status: 202, body: staleOf(newer) };
  return bounds.inflight.run(1, async () => {
    await forwarder.drained(ticketId);
    const r = await updateTicket(ports, ticketId, patch);
    return { status: 200 as const, body: { ticketId: r.ticketId, measurements: r.measurements, ticket: r.ticket ?? null } };
  });
}

async function refuseWhenFull(forwarder: Forwarder, maxPending: number, n: number): Promise<void> {
  if (!(await forwarder.admit(n, maxPending))) {
    throw new ApiError(429, `too many changes queued for their workflows (${await forwarder.backlog()} of ${maxPending}); retry after 1 s`, { 'retry-after': '1' });
  }
}

/** A change's `updatedAt` as a version (an instant or a number) with the text reported back, or null. */
function changeVersion(updatedAt: TicketValue | undefined): { kind: string; value: number; raw: string } | null {
  const v = versionOf(updatedAt);
  return v && { ...v, raw: typeof updatedAt === 'string' ? updatedAt : JSON.stringify(updatedAt) };
}

/** Records the change's version as the newest for the ticket, or returns the newer one already taken in. */
async function newerTaken(ports: AppPorts, ticketId: string, updatedAt: TicketValue | undefined): Promise<string | null> {
  const v = changeVersion(updatedAt);
  return v ? takeTicketVersion(await ports.db(), ticketId, v) : null;
}
