/**
 * The values that make a ticket findable in the Temporal UI (DESIGN §2.1), in one fixed order. The
 * workflow publishes them as search attributes, only when one changed.
 */
import { isBreached, nextDueOf, type Measurement } from './request/measurement';
import { priorityRank, textField, type Ticket } from './ticket';

export interface TicketAttributes {
  ticketId: string;
  breached: boolean;
  nextDue: number | null;
  ticketState: string | null;
  priority: number | null;
  problemId: string | null;
  incidentNumber: string | null;
  /** Every measurement's status, bare and as `<serviceTargetId>:<status>`. */
  statuses: string[];
}

export function ticketAttributes(ticket: Ticket, ms: readonly Measurement[], problem: { id: string; incidentNumber: string | null } | null): TicketAttributes {
  return {
    ticketId: ticket.id,
    breached: isBreached(ms),
    nextDue: nextDueOf(ms),
    ticketState: textField(ticket, 'state'),
    priority: priorityRank(ticket.priority),
    problemId: problem?.id ?? null,
    incidentNumber: problem?.incidentNumber ?? null,
    statuses: [...new Set([...ms.map((m) => m.status), ...ms.map((m) => `${m.serviceTargetId}:${m.status}`)])],
  };
}
