/**
 * The story of a ticket's measurements in words (`slm ticket show --timeline`): built here once, so
 * the CLI and the HTTP API tell it alike.
 */
import type { MeasurementView } from '../domain/request/measurement';
import type { TicketDoc, TimelineDoc, TimelineEntry } from './documents';

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
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${String(m).padStart(d || h ? 2 : 1, '0')}m` : '', s ? `${String(s).padStart(d || h || m ? 2 : 1, '0')}s` : ''].filter(
    Boolean,
  );
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

/** `slm ticket show --timeline`: explains, line by line, how each measurement came to its status. */
export function ticketTimeline(doc: Pick<TicketDoc, 'measurements'>): TimelineEntry[] {
  return doc.measurements.map((m) => {
    const heading = `${m.serviceTargetId}${m.attachedAt && doc.measurements.filter((x) => x.serviceTargetId === m.serviceTargetId).length > 1 ? ` (attached ${when(m.attachedAt)})` : ''} — ${m.status}${m.calendar ? ` (calendar ${m.calendar})` : ' (24×7)'}, goal ${humanSeconds(m.goalSeconds)}, definitions v${m.definitionVersion}`;
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
      const text = f.skipped
        ? `milestone ${f.milestone} #${f.occurrence + 1} skipped: ${f.skipped}`
        : `milestone ${f.milestone} #${f.occurrence + 1} fired${actions ? `: ${actions}` : ''}`;
      events.push({ at: f.firedAt, order: i * 2 + 1, text: text + late(f.firedAt, f.ranAt) });
    });
    events.sort((a, b) => a.at.localeCompare(b.at) || a.order - b.order);
    return { heading, events: events.map((e) => ({ at: e.at, text: e.text })), verdict: verdict(m) };
  });
}

/** The timeline as the CLI prints it. */
export function timelineText(entries: TimelineEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(e.heading);
    for (const ev of e.events) out.push(`  ${when(ev.at)}  ${ev.text}`);
    out.push(`  → ${e.verdict}`);
  }
  if (entries.length === 0) out.push('no service target attached to this ticket');
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
      return m.inheritedBy
        ? `replaced by ${m.inheritedBy} of the same group, which inherited its times`
        : `detached at ${m.stoppedAt ? when(m.stoppedAt) : '-'}: the terms no longer match${m.reason ? ` (${m.reason})` : ''}`;
    case 'Invalid':
      return `invalid: ${m.reason ?? 'unknown reason'}`;
  }
}

export function timelineDoc(ticketId: string, doc: Pick<TicketDoc, 'measurements'>): TimelineDoc {
  const entries = ticketTimeline(doc);
  return { ticketId, entries, text: timelineText(entries) };
}
