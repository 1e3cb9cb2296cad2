/**
 * Taking ticket changes in over HTTP: the rules a webhook receiver needs that the CLI does not —
 * tenancy of the token, out-of-order deliveries (`updatedAt`), a bound on work in flight. The changes
 * themselves go through the application layer like every front end's.
 */
import { upsertTicket } from '../app/tickets';
import type { AppPorts } from '../app/ports';
import { enqueueChanges, takeTicketVersion, ticketFieldValue } from '../db/queries';
import { versionOf } from '../domain/sources';
import type { Ticket, TicketValue } from '../domain/ticket';
import type { MeasurementView } from '../domain/request/measurement';
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
 * A tenant-bound token's snapshot: it carries the token's tenant (set when absent, refused when
 * another), and may not take over a ticket another tenant owns.
 */
export async function scopeTicket(ports: AppPorts, token: ApiToken, tenantField: string | undefined, ticket: Ticket): Promise<Ticket> {
  const field = tenantFieldFor(token, tenantField);
  if (field === null) return ticket;
  const carried = ticket[field];
  if (carried !== undefined && carried !== token.tenant) {
    throw new ApiError(403, `forbidden: ticket ${ticket.id}: ${field} is not this token's tenant`);
  }
  const owner = await ticketFieldValue(await ports.db(), ticket.id, field);
  if (owner !== undefined && owner !== token.tenant) throw new ApiError(403, `forbidden: ticket ${ticket.id} belongs to another tenant`);
  return carried === undefined ? { ...ticket, [field]: token.tenant } : ticket;
}

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
  const versionOfTicket = (t: Ticket) => {
    const v = versionOf(t.updatedAt);
    return v && { ...v, raw: rawVersion(t.updatedAt) };
  };
  if (!wait) {
    await refuseWhenFull(forwarder, maxPending, tickets.length);
    const { stale } = await enqueueChanges(
      await ports.db(),
      tickets.map((t) => ({ ticketId: t.id, kind: 'snapshot' as const, body: t, version: versionOfTicket(t) })),
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
    const v = versionOfTicket(t);
    const newer = v ? await takeTicketVersion(await ports.db(), t.id, v) : null;
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

/** A merge patch queued for its workflow (202), or stale; the `?wait=true` path is the route's. */
export async function queuePatch(
  ports: AppPorts,
  forwarder: Forwarder,
  maxPending: number,
  ticketId: string,
  patch: Record<string, TicketValue>,
): Promise<{ accepted: { ticketId: string; workflowId: string }[]; stale: StaleChange[] }> {
  await refuseWhenFull(forwarder, maxPending, 1);
  const v = versionOf(patch.updatedAt);
  const { stale } = await enqueueChanges(await ports.db(), [{ ticketId, kind: 'patch', body: patch, version: v && { ...v, raw: rawVersion(patch.updatedAt) } }]);
  forwarder.kick();
  return stale.length
    ? { accepted: [], stale: [{ ticketId, updatedAt: patch.updatedAt, applied: stale[0]!.applied }] }
    : { accepted: [{ ticketId, workflowId: `ticket:${ticketId}` }], stale: [] };
}

async function refuseWhenFull(forwarder: Forwarder, maxPending: number, n: number): Promise<void> {
  if (!(await forwarder.admit(n, maxPending))) {
    throw new ApiError(429, `too many changes queued for their workflows (${await forwarder.backlog()} of ${maxPending}); retry after 1 s`, { 'retry-after': '1' });
  }
}

/** An `updatedAt` as the text reported back (a string as it is, a number as written). */
export function rawVersion(v: TicketValue | undefined): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}
