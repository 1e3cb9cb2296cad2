/** Turning flags into tickets, and documents into the plain text the CLI prints without --json. */
import fs from 'node:fs';
import { ticketTimeline, timelineText } from '../app/timeline';
import { TICKET_PAGE_SIZE } from '../app/tickets';
import type { TicketDoc, TicketListDoc } from '../app/documents';

export type { TicketDoc };

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A file's text, or stdin's for `-`; a usage error naming it when it cannot be read. */
export function readTextInput(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A flag value as JSON when it parses (numbers, booleans, null, quoted strings), else the text itself. */
export function parseFieldValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The fields `--field k=v`, `--priority` and `--state` give (without `id`): a partial ticket. */
export function fieldsFromFlags(f: { priority?: string; state?: string; fields: string[] }): Record<string, unknown> {
  const ticket: Record<string, unknown> = {};
  for (const pair of f.fields) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--field expects key=value, got "${pair}"`);
    ticket[pair.slice(0, eq)] = parseFieldValue(pair.slice(eq + 1));
  }
  if (f.priority !== undefined) ticket.priority = parseFieldValue(f.priority);
  if (f.state !== undefined) ticket.state = f.state;
  return ticket;
}

/** A full snapshot from flags: the fields, and `id`. */
export function ticketFromFlags(f: { id: string; priority?: string; state?: string; fields: string[] }): Record<string, unknown> {
  return { ...fieldsFromFlags(f), id: f.id };
}

export function renderTicket(doc: TicketDoc): string {
  const lines = [`ticket      ${JSON.stringify(doc.ticket)}`];
  const p = doc.serviceProblem;
  lines.push(p ? `problem     ${p.id}  ${p.incidentNumber ?? '-'}  ${p.status ?? '-'}  ${p.link ?? ''}${p.lastError ? `  error: ${p.lastError}` : ''}` : 'problem     (none)');
  if (doc.measurements.length === 0) lines.push('measurements (none attached)');
  for (const m of doc.measurements) {
    lines.push(
      `measurement ${m.serviceTargetId.padEnd(20)} ${m.status.padEnd(10)} due ${m.dueAt ?? '-'}  elapsed ${m.elapsedSeconds}s of ${m.goalSeconds}s` +
        (m.inheritedFrom ? `  (inherited from ${m.inheritedFrom})` : '') +
        (m.reason ? `  (${m.reason})` : ''),
    );
  }
  for (const r of doc.rejectedChanges) lines.push(`refused     ${r.at}  ${r.reason}`);
  return lines.join('\n') + '\n';
}

export function renderTicketList(doc: TicketListDoc): string {
  const pages = Math.max(1, Math.ceil(doc.total / TICKET_PAGE_SIZE));
  const lines = [`${doc.total} managed tickets (page ${doc.page} of ${pages})`];
  for (const t of doc.tickets) {
    lines.push(
      `${t.ticketId.padEnd(16)} ${(t.state ?? '-').padEnd(12)} ${(t.incidentNumber ?? '-').padEnd(12)} ${t.problemId ?? '-'}${t.lastError ? `  error: ${t.lastError}` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** `slm ticket show --timeline`. */
export function renderTimeline(doc: TicketDoc): string {
  return timelineText(ticketTimeline(doc));
}
