/**
 * Taking ticket changes in over HTTP: the rules a webhook receiver needs that the CLI does not —
 * tenancy of the token, out-of-order deliveries (`updatedAt`), a bound on work in flight. The changes
 * themselves go through the application layer like every front end's.
 */
import { sendTicket, upsertTicket } from '../app/tickets';
import type { AppPorts } from '../app/ports';
import { takeTicketVersion, ticketFieldValue } from '../db/queries';
import { versionOf } from '../domain/sources';
import type { Ticket } from '../domain/ticket';
import type { MeasurementView } from '../domain/request/measurement';
import type { ApiToken } from './auth';

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
 * Takes validated snapshots in: each with an `updatedAt` older than the newest taken in for its
 * ticket is reported stale and not sent; the others are sent to their workflows (fire and forget, or
 * measured with `wait`). A failure part-way leaves nothing half-applied that a retry would not fix: a
 * full snapshot sent twice changes nothing the second time.
 */
export async function ingestSnapshots(ports: AppPorts, tickets: Ticket[], wait: boolean): Promise<IngestOutcome> {
  const out: IngestOutcome = { accepted: [], stale: [], ...(wait ? { results: [] } : {}) };
  const fresh: Ticket[] = [];
  for (const t of tickets) {
    const v = versionOf(t.updatedAt);
    if (v !== null) {
      const newer = await takeTicketVersion(await ports.db(), t.id, { ...v, raw: JSON.stringify(t.updatedAt).replace(/^"|"$/g, '') });
      if (newer !== null) {
        out.stale.push({ ticketId: t.id, updatedAt: t.updatedAt, applied: newer });
        continue;
      }
    }
    fresh.push(t);
  }
  // In order per ticket (an array may carry several snapshots of one ticket); tickets in parallel.
  const byTicket = new Map<string, Ticket[]>();
  for (const t of fresh) byTicket.set(t.id, [...(byTicket.get(t.id) ?? []), t]);
  const lanes = [...byTicket.values()];
  let next = 0;
  const worker = async () => {
    while (next < lanes.length) {
      for (const t of lanes[next++]!) {
        if (wait) {
          const r = await upsertTicket(ports, t);
          out.results!.push({ ticketId: r.ticketId, measurements: r.measurements });
          out.accepted.push({ ticketId: t.id, workflowId: `ticket:${t.id}` });
        } else {
          out.accepted.push({ ticketId: t.id, workflowId: (await sendTicket(ports, t)).workflowId });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, lanes.length) }, worker));
  return out;
}
