/**
 * Ticket use cases shared by every front end (DESIGN §2): take a change in, show one ticket, list
 * them, explain a ticket's measurements. Each builds its public document (DESIGN §4.6) here, once;
 * the CLI prints it (as JSON with --json, or as text) and the HTTP API returns it.
 */
import { mergeTicketChecked, queryTicket, sendPatch, upsertTicket as signalTicket, upsertTicketChecked } from '../client/tickets';
import { getTicketRow, listTickets, TICKET_SORTS } from '../db/queries';
import { normalizeMeasurement, toView, type Measurement } from '../domain/request/measurement';
import { parseTicket, parseTicketPatch, type Ticket } from '../domain/ticket';
import type { RejectedChange, UpsertResult } from '../workflows/messages';
import type { TicketDoc, TicketListDoc } from './documents';
import type { AppPorts } from './ports';

export const TICKET_PAGE_SIZE = 25;
export type TicketSort = keyof typeof TICKET_SORTS;
export const TICKET_SORT_NAMES = Object.keys(TICKET_SORTS) as TicketSort[];

/** The ticket is not known: neither a run nor a saved row. */
export class TicketNotFoundError extends Error {
  override name = 'TicketNotFoundError';
}

/**
 * A full snapshot, measured: validated here (size, depth, id) before anything is sent, then applied
 * by the ticket's workflow (started when none runs); returns once it is measured.
 */
export async function upsertTicket(ports: AppPorts, raw: unknown): Promise<UpsertResult> {
  const ticket = parseTicket(raw);
  return upsertTicketChecked(await ports.temporal(), ports.settings, ticket);
}

/**
 * A validated snapshot, sent without waiting for its measurement (the API's 202): the workflow
 * applies it in order with every other change. Returns the workflow id.
 */
export async function sendTicket(ports: AppPorts, ticket: Ticket): Promise<{ workflowId: string }> {
  return signalTicket(await ports.temporal(), ports.settings, ticket);
}

/** A JSON merge patch (RFC 7386) onto the ticket's latest snapshot, merged in order inside its workflow. */
export async function updateTicket(ports: AppPorts, ticketId: string, rawPatch: unknown): Promise<UpsertResult> {
  const patch = parseTicketPatch(rawPatch, ticketId);
  const id = parseTicket({ id: ticketId }).id;
  return mergeTicketChecked(await ports.temporal(), ports.settings, id, patch);
}

/** The same merge patch without waiting for its measurement (the API's 202): returns once the workflow accepted it. */
export async function sendTicketPatch(ports: AppPorts, ticketId: string, rawPatch: unknown): Promise<{ workflowId: string }> {
  const patch = parseTicketPatch(rawPatch, ticketId);
  const id = parseTicket({ id: ticketId }).id;
  return sendPatch(await ports.temporal(), ports.settings, id, patch);
}

/**
 * One ticket: live from its workflow when it runs (or Temporal is unreachable: then from the row),
 * else the state its last run saved.
 */
export async function showTicket(ports: AppPorts, ticketId: string, now = Date.now()): Promise<TicketDoc> {
  const live = await ports
    .temporal()
    .then((client) => queryTicket(client, ticketId))
    .catch(() => null);
  if (live?.ticket) return { ticket: live.ticket, measurements: live.measurements, serviceProblem: live.serviceProblem, rejectedChanges: live.rejectedChanges ?? [] };
  const row = await getTicketRow(await ports.db(), ticketId);
  if (!row) throw new TicketNotFoundError(`no ticket ${ticketId}`);
  const t = row.ticket;
  return {
    ticket: t.ticket,
    // The workflow has completed (or is unreachable): the engine state it saved last.
    measurements: row.measurements.map((m) => toView(normalizeMeasurement(m.engineState as Measurement), now, null)),
    serviceProblem: t.problemId
      ? { id: t.problemId, incidentNumber: t.incidentNumber, link: t.link, status: t.problemStatus, lastSyncAt: t.lastSyncAt?.toISOString() ?? null, lastError: t.lastError }
      : null,
    rejectedChanges: (t.rejectedChanges as RejectedChange[] | null) ?? [],
  };
}

export interface TicketListQuery {
  page?: number;
  filter?: string | undefined;
  sort?: string;
  descending?: boolean;
  /** Only this tenant's tickets (a tenant-bound API token): the ticket field and its value. */
  tenant?: { field: string; value: string } | undefined;
}

/** A bad list query (page, sort): the caller's mistake, said in one line. */
export class ListQueryError extends Error {
  override name = 'ListQueryError';
}

/** A list query's page (default 1) and sort (default `id`), checked: a ListQueryError names what is wrong. */
export function listPage<S extends string>(q: { page?: number; sort?: string }, sorts: readonly S[]): { page: number; sort: S } {
  const page = q.page ?? 1;
  if (!Number.isInteger(page) || page < 1) throw new ListQueryError(`page must be a whole number ≥ 1, got "${q.page}"`);
  const sort = q.sort ?? 'id';
  if (!(sorts as readonly string[]).includes(sort)) throw new ListQueryError(`sort must be one of ${sorts.join(', ')}`);
  return { page, sort: sort as S };
}

/** The managed tickets, 25 per page, filtered on id, state or incident number. */
export async function listTicketsDoc(ports: Pick<AppPorts, 'db'>, q: TicketListQuery): Promise<TicketListDoc> {
  const { page, sort } = listPage(q, TICKET_SORT_NAMES);
  const result = await listTickets(await ports.db(), {
    page,
    pageSize: TICKET_PAGE_SIZE,
    filter: q.filter,
    sort: sort,
    descending: !!q.descending,
    tenant: q.tenant,
  });
  return {
    total: result.total,
    page,
    tickets: result.rows.map((r) => ({
      ticketId: r.ticketId,
      state: r.state,
      priority: r.priority,
      problemId: r.problemId,
      incidentNumber: r.incidentNumber,
      link: r.link,
      lastSyncAt: r.lastSyncAt?.toISOString() ?? null,
      lastError: r.lastError,
    })),
  };
}
