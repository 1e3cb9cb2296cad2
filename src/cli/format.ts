/** Turning flags into tickets, and documents into the plain text the CLI prints without --json. */
import type { MeasurementView } from '../domain/measurement';

export class UsageError extends Error {
  override name = 'UsageError';
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

export interface TicketDoc {
  ticket: unknown;
  measurements: MeasurementView[];
  serviceProblem: { id: string; incidentNumber: string | null; link: string | null; status: string | null; lastSyncAt: string | null; lastError: string | null } | null;
  /** Changes the workflow refused (malformed, or a merge patch whose result is no valid ticket), with when and why. */
  rejectedChanges: { at: string; reason: string }[];
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

export function renderTicketList(doc: { total: number; page: number; tickets: { ticketId: string; state: string | null; incidentNumber: string | null; problemId: string | null; lastError: string | null }[] }): string {
  const pages = Math.max(1, Math.ceil(doc.total / 25));
  const lines = [`${doc.total} managed tickets (page ${doc.page} of ${pages})`];
  for (const t of doc.tickets) {
    lines.push(`${t.ticketId.padEnd(16)} ${(t.state ?? '-').padEnd(12)} ${(t.incidentNumber ?? '-').padEnd(12)} ${t.problemId ?? '-'}${t.lastError ? `  error: ${t.lastError}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** `1h 05m 10s` for a number of seconds (negative with a sign). */
export function humanSeconds(total: number): string {
  const sign = total < 0 ? '-' : '';
  let s = Math.abs(Math.round(total));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${String(m).padStart(d || h ? 2 : 1, '0')}m` : '', s ? `${String(s).padStart(d || h || m ? 2 : 1, '0')}s` : ''].filter(Boolean);
  return sign + (parts.join(' ') || '0s');
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

const SEGMENT_TEXT: Record<MeasurementView['status'], string> = {
  Attached: 'attached; waiting for the start condition',
  InProcess: 'clock running',
  Pending: 'clock paused: the exclude condition held',
  MissedGoal: 'goal passed; clock still running',
  Met: 'stopped: the stop condition held',
  Missed: 'stopped: the stop condition held',
  Detached: 'detached: the terms no longer matched',
  Invalid: 'invalid',
};

/** ` (ran 3h 12m late, at …)` for a timer that ran well after its instant (the stack was down). */
function late(due: string, ranAt: string | undefined): string {
  if (!ranAt) return '';
  return ` (ran ${humanSeconds((Date.parse(ranAt) - Date.parse(due)) / 1000)} late, at ${when(ranAt)})`;
}

/** Explains, line by line, how each measurement came to its status (`slm ticket show --timeline`). */
export function renderTimeline(doc: TicketDoc): string {
  const out: string[] = [];
  for (const m of doc.measurements) {
    out.push(`${m.serviceTargetId}${m.attachedAt && doc.measurements.filter((x) => x.serviceTargetId === m.serviceTargetId).length > 1 ? ` (attached ${when(m.attachedAt)})` : ''} — ${m.status}${m.calendar ? ` (calendar ${m.calendar})` : ' (24×7)'}, goal ${humanSeconds(m.goalSeconds)}, definitions v${m.definitionVersion}`);
    const events: { at: string; order: number; text: string }[] = [];
    m.segments.forEach((s, i) => {
      let text = SEGMENT_TEXT[s.status];
      if (s.note) text = `${s.note}`;
      const counted = s.counts === 'elapsed' ? `counted ${humanSeconds(s.businessSeconds)}` : s.counts === 'paused' ? `excluded ${humanSeconds(s.businessSeconds)}` : '';
      const until = s.stop ? ` until ${when(s.stop)}` : '';
      events.push({ at: s.start, order: i * 2, text: `${s.status.padEnd(10)} ${text}${counted ? ` — ${counted}` : ''}${counted ? until : ''}${late(s.start, s.ranAt)}` });
    });
    m.firings.forEach((f, i) => {
      const actions = f.actions.map((a) => `${a.kind} ${a.status}${a.detail ? ` (${a.detail})` : ''}`).join(', ');
      const text = f.skipped ? `milestone ${f.milestone} #${f.occurrence + 1} skipped: ${f.skipped}` : `milestone ${f.milestone} #${f.occurrence + 1} fired${actions ? `: ${actions}` : ''}`;
      events.push({ at: f.firedAt, order: i * 2 + 1, text: text + late(f.firedAt, f.ranAt) });
    });
    events.sort((a, b) => a.at.localeCompare(b.at) || a.order - b.order);
    for (const e of events) out.push(`  ${when(e.at)}  ${e.text}`);
    out.push(`  → ${verdict(m)}`);
  }
  if (doc.measurements.length === 0) out.push('no service target attached to this ticket');
  return out.join('\n') + '\n';
}

function verdict(m: MeasurementView): string {
  const used = `${humanSeconds(m.elapsedSeconds)} of ${humanSeconds(m.goalSeconds)} used`;
  const paused = m.pausedSeconds ? `, ${humanSeconds(m.pausedSeconds)} excluded` : '';
  switch (m.status) {
    case 'Met':
      return `Met at ${when(m.stoppedAt!)}: ${used}${paused} — ${humanSeconds(m.metMissedSeconds)} to spare (elapsed within the goal)`;
    case 'Missed':
      return `Missed: the goal was reached at ${when(m.missedGoalAt ?? m.dueAt!)} and the ticket stopped at ${when(m.stoppedAt!)}, ${humanSeconds(-m.metMissedSeconds)} over${paused}${m.impactCost ? `; impact cost ${m.impactCost}` : ''}`;
    case 'MissedGoal':
      return `past due since ${when(m.missedGoalAt!)}: ${used}${paused}; it ends Missed when the ticket stops`;
    case 'InProcess':
      return `running: ${used}${paused}; due ${m.dueAt ? when(m.dueAt) : '-'}`;
    case 'Pending':
      return `paused: ${used}${paused}; the due instant moves while paused`;
    case 'Attached':
      return 'attached, not started: the start condition has not held yet';
    case 'Detached':
      return m.inheritedBy ? `replaced by ${m.inheritedBy} of the same group, which inherited its times` : `detached at ${m.stoppedAt ? when(m.stoppedAt) : '-'}: the terms no longer match${m.reason ? ` (${m.reason})` : ''}`;
    case 'Invalid':
      return `invalid: ${m.reason ?? 'unknown reason'}`;
  }
}
