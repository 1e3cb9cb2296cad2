/**
 * The text the Temporal UI shows on a ticket workflow's page (its "current details", Markdown): who
 * the ticket is, where its service levels stand and what the run is waiting for. Pure, so the view
 * a person reads is the same code that tests and replay reach.
 */
import { isBreached, isOpen, nextDueOf, type Measurement } from './request/measurement';
import { priorityRank, textField, type Ticket } from './ticket';

export interface TicketDetailsInput {
  ticket: Ticket | null;
  measurements: Measurement[];
  problem: { id: string; incidentNumber: string | null; status: string | null } | null;
  lastError: string | null;
  /** Set while the run waits out the reopen window: when it ends. */
  reopenWindowEnds: number | null;
  /** How many changes were refused (listed by `slm ticket show`). */
  rejected: number;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** One line for the start of the run, before any detail is known (the workflow's static summary). */
export function ticketSummary(ticket: Ticket): string {
  const state = textField(ticket, 'state');
  const priority = ticket.priority === undefined ? null : JSON.stringify(ticket.priority);
  return [`Ticket ${ticket.id}`, state && `state ${state}`, priority && `priority ${priority}`].filter(Boolean).join(' · ');
}

export function ticketDetails(d: TicketDetailsInput): string {
  if (!d.ticket) return d.rejected ? `No ticket: its change was refused (${d.rejected}); this run ends shortly.` : 'Waiting for the ticket.';
  const t = d.ticket;
  const ms = d.measurements;
  const breached = isBreached(ms);
  const nextDue = nextDueOf(ms);
  const rank = priorityRank(t.priority);
  const lines = [
    `**Ticket ${t.id}** — state ${textField(t, 'state') ?? '(none)'}, priority ${t.priority === undefined ? '(none)' : JSON.stringify(t.priority)}${rank !== null && typeof t.priority === 'string' ? ` (${rank})` : ''}`,
    `Breached: ${breached ? '**yes**' : 'no'} · next due: ${nextDue === null ? '—' : iso(nextDue)}`,
  ];
  if (d.reopenWindowEnds !== null) {
    lines.push(`**Closed**: every measurement is final; waiting out the reopen window until ${iso(d.reopenWindowEnds)}, then this run completes (a later change reopens it).`);
  }
  for (const m of ms) {
    const due = m.dueAt === null ? '' : `, due ${iso(m.dueAt)}`;
    lines.push(`- ${m.serviceTargetId}${m.instance ? ` #${m.instance + 1}` : ''}: ${m.status}${isOpen(m) ? due : ''}${m.reason ? ` (${m.reason})` : ''}`);
  }
  if (ms.length === 0) lines.push('- no service target attached');
  const p = d.problem;
  lines.push(p ? `SNOW: problem ${p.id}${p.incidentNumber ? ` (${p.incidentNumber})` : ''}, ${p.status ?? 'unknown status'}` : 'SNOW: no service problem');
  if (d.lastError) lines.push(`Last error: ${d.lastError}`);
  if (d.rejected) lines.push(`Refused changes: ${d.rejected} (see \`slm ticket show ${t.id}\`)`);
  return lines.join('\n');
}
