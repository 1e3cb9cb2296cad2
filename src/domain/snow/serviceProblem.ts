/**
 * How a ticket becomes a TMF656 service problem, and what changes are worth a PATCH. Pure: the
 * workflow decides, the `tmf` activities only carry the bodies.
 */
import { DEFAULT_CONNECTOR, plain, textOf, ticketCloses, type CompiledConnector } from './connector';
import { isClosedState, priorityRank, textField, type Ticket, type TicketValue } from '../ticket';

export { isClosedState };

export type ProblemStatus = 'acknowledged' | 'rejected' | 'pending' | 'held' | 'inProgress' | 'resolved' | 'cancelled' | 'closed';

/** The body we send: TMF656 v4 ServiceProblem, with the mandatory fields always present. */
export interface ServiceProblemBody {
  '@type': 'ServiceProblem';
  category: string;
  priority: number;
  description: string;
  reason: string;
  status: ProblemStatus;
  originatorParty: { id: string; '@referredType': string; role: string };
  correlationId: string;
  externalIdentifier: { id: string; owner: string; externalIdentifierType: string }[];
  characteristic: { name: string; value: TicketValue }[];
}

export interface ServiceProblemRef {
  id: string;
  incidentNumber: string | null;
  link: string | null;
}

export interface SyncPolicy {
  activeStates: string[];
}

const STATE_TO_STATUS: Record<string, ProblemStatus> = {
  new: 'acknowledged',
  assigned: 'acknowledged',
  'in progress': 'inProgress',
  'on hold': 'held',
  pending: 'pending',
  resolved: 'resolved',
  closed: 'closed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  rejected: 'rejected',
};

/** Fields that are carried in dedicated TMF attributes rather than as characteristics. */
const MAPPED_FIELDS = new Set(['id', 'state', 'priority', 'category', 'description', 'title', 'reason']);

export const ORIGINATOR = { id: 'temporal-slm', '@referredType': 'Organization', role: 'originator' } as const;

export function correlationIdFor(ticketId: string): string {
  return `ticket:${ticketId}`;
}

export function isActive(ticket: Ticket, policy: SyncPolicy): boolean {
  const state = textField(ticket, 'state');
  return state !== null && policy.activeStates.includes(state);
}

/** The ticket cannot be mapped to a service problem (its priority has no TMF656 value, say): the problem gets the error, not the ticket. */
export class ProblemMappingError extends Error {
  override name = 'ProblemMappingError';
}

/**
 * SNOW's integer priority (TMF656: 1 highest … 10 lowest) from what the mapping rule gave: a number,
 * or text that starts with one (`"2 normal"`, `"1 - Critical"`), clamped to 1–10. Null when there is none.
 */
export function tmfPriority(value: unknown): number | null {
  const v = plain(value);
  const rank = typeof v === 'number' ? (Number.isFinite(v) ? Math.round(v) : null) : typeof v === 'string' ? priorityRank(v) : null;
  return rank === null ? null : Math.min(10, Math.max(1, rank));
}

/**
 * The service problem for `ticket` under the connector's mapping (DEFAULT_CONNECTOR: the seed's).
 * Throws ProblemMappingError when the priority maps to no TMF656 priority.
 */
export function toServiceProblem(ticket: Ticket, connector: CompiledConnector = DEFAULT_CONNECTOR): ServiceProblemBody {
  const state = textField(ticket, 'state') ?? 'New';
  const closing = ticketCloses(connector, ticket);
  const status: ProblemStatus = closing ? 'resolved' : (STATE_TO_STATUS[state.toLowerCase()] ?? 'acknowledged');
  const m = connector.mapping;
  const vars = { ticket };
  const p = m.priority.evaluate(vars);
  if (!p.ok) throw new ProblemMappingError(`connector.mapping.priority failed: ${p.reason}`);
  const priority = tmfPriority(p.value);
  if (priority === null) {
    throw new ProblemMappingError(
      `priority ${JSON.stringify(plain(p.value))} has no TMF656 priority (a number 1–10, or text starting with one): add a connector.mapping.priority rule for it`,
    );
  }
  const fields = m.characteristics === 'rest' ? Object.keys(ticket).filter((k) => !MAPPED_FIELDS.has(k)) : m.characteristics.filter((k) => k in ticket);
  return {
    '@type': 'ServiceProblem',
    category: textOf(m.category, vars, 'incident'),
    // TMF656: 1 is the highest priority, 10 the lowest.
    priority,
    description: textOf(m.description, vars, `Ticket ${ticket.id}`),
    reason: textOf(m.reason, vars, state),
    status,
    originatorParty: { ...ORIGINATOR, id: textOf(m.originator, vars, ORIGINATOR.id) },
    correlationId: correlationIdFor(ticket.id),
    externalIdentifier: [{ id: ticket.id, owner: 'temporal-slm', externalIdentifierType: 'ticket' }],
    characteristic: [...fields].sort().map((name) => ({ name, value: ticket[name] as TicketValue })),
  };
}

/** The closing PATCH: resolved, with the resolution note as TMF656's statusChangeReason and a note. */
export function closingPatch(ticket: Ticket, connector: CompiledConnector, at: number): Record<string, unknown> {
  const text = textOf(connector.resolutionNote, { ticket }, `Closed by temporal-slm (ticket ${ticket.id})`);
  const when = new Date(at).toISOString();
  return {
    status: 'resolved',
    statusChangeReason: text,
    statusChangeDate: when,
    resolutionDate: when,
    note: [{ text, author: 'temporal-slm', date: when }],
  };
}

/** TMF656 v4 attributes that are not patchable (specs/tmf/docs/TMF656_Service_Problem.rules.yaml). */
export const TMF656_NOT_PATCHABLE: readonly string[] = ['id', 'href', 'correlationId', 'firstAlert', 'originatingSystem', 'timeRaised', 'trackingRecord'];

/** What our PATCHes never carry: the non-patchable attributes, and our identity of the ticket. */
const NEVER_PATCHED = new Set([...TMF656_NOT_PATCHABLE, 'externalIdentifier']);

/** The top-level fields of `next` that differ from `previous`, without non-patchable ones; null when nothing changed. */
export function diffForPatch(previous: ServiceProblemBody | null, next: ServiceProblemBody): Partial<ServiceProblemBody> | null {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (NEVER_PATCHED.has(key)) continue;
    const before = previous ? (previous as unknown as Record<string, unknown>)[key] : undefined;
    if (JSON.stringify(before) !== JSON.stringify(value)) patch[key] = value;
  }
  return Object.keys(patch).length ? patch : null;
}
