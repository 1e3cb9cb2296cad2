/**
 * How a ticket becomes a TMF656 service problem, and what changes are worth a PATCH. Pure: the
 * workflow decides, the `tmf` activities only carry the bodies.
 */
import type { Ticket, TicketValue } from './ticket';

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

/** The closure trigger of the seed: the ticket is restored by the SES group, or resolved/closed. */
export function isClosing(ticket: Ticket): boolean {
  const state = String(ticket.state ?? '').toLowerCase();
  return ticket.restoredBy === 'ses_group' || state === 'resolved' || state === 'closed';
}

export function isActive(ticket: Ticket, policy: SyncPolicy): boolean {
  return ticket.state !== undefined && policy.activeStates.includes(ticket.state);
}

export function toServiceProblem(ticket: Ticket): ServiceProblemBody {
  const state = String(ticket.state ?? 'New');
  const status: ProblemStatus = isClosing(ticket) ? 'resolved' : (STATE_TO_STATUS[state.toLowerCase()] ?? 'acknowledged');
  const text = (v: TicketValue | undefined) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  return {
    '@type': 'ServiceProblem',
    category: text(ticket.category) ?? 'incident',
    // TMF656: 1 is the highest priority, 10 the lowest.
    priority: Math.min(10, Math.max(1, typeof ticket.priority === 'number' ? ticket.priority : 5)),
    description: text(ticket.description) ?? text(ticket.title) ?? `Ticket ${ticket.id}`,
    reason: text(ticket.reason) ?? state,
    status,
    originatorParty: { ...ORIGINATOR },
    correlationId: correlationIdFor(ticket.id),
    externalIdentifier: [{ id: ticket.id, owner: 'temporal-slm', externalIdentifierType: 'ticket' }],
    characteristic: Object.keys(ticket)
      .filter((k) => !MAPPED_FIELDS.has(k))
      .sort()
      .map((name) => ({ name, value: ticket[name] as TicketValue })),
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
  return Object.keys(patch).length ? (patch) : null;
}
