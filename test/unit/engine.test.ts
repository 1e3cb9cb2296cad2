/**
 * The measurement engine through its offline contract (`replay`, DESIGN §4.3): every expectation is
 * computed by hand from the event times, the calendars and the seed's rules (seed 002 pp. 16–36).
 */
import fc from 'fast-check';
import { BusinessCalendar } from '../../src/domain/calendar';
import { parseEvents, replay, ReplayError, type ReplayOutput } from '../../src/domain/replay';
import { advance, applyTicketChange, engineEnv, newEngineState, type ActionEffect } from '../../src/domain/request/engine';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { toView } from '../../src/domain/request/measurement';
import { renderTimeline } from '../../src/cli/format';

const H = 3600;
type Line = { at: string } & ({ ticket: Record<string, unknown> } | { definitions: unknown } | { check: string });

function play(defs: unknown, lines: Line[], effects?: ActionEffect[]): ReplayOutput[] {
  return replay(defs, parseEvents(lines.map((l) => JSON.stringify(l)).join('\n')), (e) => effects?.push(e));
}
function find(out: ReplayOutput[], check: string, target: string, ticket = 'T1') {
  const o = out.find((x) => x.check === check);
  if (!o) throw new Error(`no check ${check}`);
  return o.measurements.find((m) => m.serviceTargetId === target && m.ticketId === ticket);
}
const t = (id: string, fields: Record<string, unknown>) => ({ id, ...fields });

const base = {
  appliesTo: 'ticket.priority == 1',
  start: 'ticket.state != "Draft"',
  stop: 'ticket.state in ["Resolved", "Closed"]',
  exclude: 'ticket.state == "On Hold"',
};
const P1 = { id: 'P1', ...base, goal: { duration: '1h' }, costPerMinute: 10 };
const defs1 = { serviceTargets: [P1] };

describe('request measurement state machine', () => {
  it('does not attach when the terms do not match; attaches without starting until the start condition holds', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 2, state: 'New' }) },
      { at: '2026-03-02T09:05:00Z', check: 'p2' },
      { at: '2026-03-02T09:10:00Z', ticket: t('T1', { priority: 1, state: 'Draft' }) },
      { at: '2026-03-02T09:20:00Z', check: 'draft' },
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:40:00Z', check: 'running' },
    ]);
    expect(find(out, 'p2', 'P1')).toBeUndefined();
    expect(find(out, 'draft', 'P1')).toMatchObject({ status: 'Attached', elapsedSeconds: 0, dueAt: null, startedAt: null });
    expect(find(out, 'running', 'P1')).toMatchObject({
      status: 'InProcess',
      startedAt: '2026-03-02T09:30:00.000Z',
      elapsedSeconds: 600,
      metMissedSeconds: 3000,
      dueAt: '2026-03-02T10:30:00.000Z',
    });
  });

  it('pauses while the exclude condition holds: dueAt null while paused, then moved by the pause', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:20:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T09:50:00Z', check: 'paused' },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'In Progress' }) },
      { at: '2026-03-02T10:00:00Z', check: 'resumed' },
    ]);
    expect(find(out, 'paused', 'P1')).toMatchObject({ status: 'Pending', dueAt: null, elapsedSeconds: 1200, pausedSeconds: 1800 });
    expect(find(out, 'resumed', 'P1')).toMatchObject({ status: 'InProcess', dueAt: '2026-03-02T10:40:00.000Z', pausedSeconds: 2400 });
  });

  it('fires the due timer at its own instant even when the next event comes much later; stop then is Missed with cost', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:30:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
    ]);
    expect(find(out, 'end', 'P1')).toMatchObject({
      status: 'Missed',
      missedGoalAt: '2026-03-02T10:00:00.000Z',
      dueAt: '2026-03-02T10:00:00.000Z',
      elapsedSeconds: 5400,
      metMissedSeconds: -1800,
      impactCost: 300,
    });
    const segments = find(out, 'end', 'P1')!.segments.map((s) => [s.status, s.start, s.businessSeconds]);
    expect(segments).toEqual([
      ['Attached', '2026-03-02T09:00:00.000Z', 0],
      ['InProcess', '2026-03-02T09:00:00.000Z', 3600],
      ['MissedGoal', '2026-03-02T10:00:00.000Z', 1800],
      ['Missed', '2026-03-02T10:30:00.000Z', 0],
    ]);
  });

  it('is Met when elapsed equals the goal exactly, and stop wins over exclude', () => {
    const out = play(
      defs1,
      [
        { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
        { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
        { at: '2026-03-02T09:00:00Z', ticket: t('T2', { priority: 1, state: 'New' }) },
        { at: '2026-03-02T09:30:00Z', ticket: t('T2', { priority: 1, state: 'On Hold' }) },
        { at: '2026-03-02T11:00:00Z', ticket: t('T2', { priority: 1, state: 'Closed', hold: true }) },
      ].sort((a, b) => a.at.localeCompare(b.at)),
    );
    expect(find(out, 'end', 'P1')).toMatchObject({ status: 'Met', elapsedSeconds: 3600, metMissedSeconds: 0, impactCost: 0 });
    // T2 was closed straight from On Hold: final, with the paused time not counted, due projected at the stop.
    expect(find(out, 'end', 'P1', 'T2')).toMatchObject({
      status: 'Met',
      elapsedSeconds: 1800,
      pausedSeconds: 5400,
      stoppedAt: '2026-03-02T11:00:00.000Z',
      dueAt: '2026-03-02T11:30:00.000Z',
    });
  });

  it('counts OverallElapsedTime 259 200 s for a request open three 24×7 days (seed p. 82)', () => {
    const out = play({ serviceTargets: [{ ...P1, goal: { duration: '5d' } }] }, [
      { at: '2026-03-02T08:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-05T08:00:00Z', ticket: t('T1', { priority: 1, state: 'Closed' }) },
    ]);
    expect(find(out, 'end', 'P1')).toMatchObject({ status: 'Met', elapsedSeconds: 259_200, goalSeconds: 432_000 });
  });

  it('detaches when the terms stop matching and starts fresh (no group) beside the old one when they match again', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: 2, state: 'New' }) },
      { at: '2026-03-02T09:40:00Z', check: 'detached' },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:10:00Z', check: 'again' },
    ]);
    const detached = { status: 'Detached', dueAt: null, stoppedAt: '2026-03-02T09:30:00.000Z', elapsedSeconds: 1800 };
    expect(find(out, 'detached', 'P1')).toMatchObject(detached);
    // Every measurement the ticket had stays (DESIGN §4.3): the Detached one, then the new one.
    const again = out.find((o) => o.check === 'again')!.measurements.filter((m) => m.serviceTargetId === 'P1');
    expect(again).toHaveLength(2);
    expect(again[0]).toMatchObject(detached);
    expect(again[1]).toMatchObject({ status: 'InProcess', startedAt: '2026-03-02T10:00:00.000Z', attachedAt: '2026-03-02T10:00:00.000Z', elapsedSeconds: 600 });
  });

  it('keeps every measurement through several detach and re-attach cycles, each with its own result', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:10:00Z', ticket: t('T1', { priority: 2, state: 'New' }) },
      { at: '2026-03-02T09:20:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
      { at: '2026-03-02T09:40:00Z', ticket: t('T1', { priority: 2, state: 'New' }) },
      { at: '2026-03-02T09:50:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
    ]);
    const all = out.find((o) => o.check === 'end')!.measurements.filter((m) => m.serviceTargetId === 'P1');
    // Met is final: a later change of terms does not detach it; the reopen puts it back to running.
    expect(all.map((m) => [m.status, m.attachedAt, m.elapsedSeconds])).toEqual([
      ['Detached', '2026-03-02T09:00:00.000Z', 600],
      ['InProcess', '2026-03-02T09:20:00.000Z', 600],
    ]);
  });

  it('makes only the measurement whose condition mis-types Invalid, and treats a missing field as false', () => {
    const defs = {
      serviceTargets: [
        { ...P1, id: 'typed', appliesTo: 'ticket.severity <= 2' },
        { ...P1, id: 'other', appliesTo: 'ticket.kind == "incident"' },
      ],
    };
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { severity: 'one', kind: 'incident', state: 'New' }) },
      { at: '2026-03-02T09:00:00Z', ticket: t('T2', { state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', check: 'now' },
    ]);
    expect(find(out, 'now', 'typed')).toMatchObject({ status: 'Invalid', dueAt: null });
    expect(find(out, 'now', 'typed')!.reason).toMatch(/ticket\.severity <= 2/);
    expect(find(out, 'now', 'other')).toMatchObject({ status: 'InProcess', elapsedSeconds: 1800 });
    expect(out.find((o) => o.check === 'now')!.measurements.filter((m) => m.ticketId === 'T2')).toEqual([]);
  });

  it('handles a ticket created already On Hold, and several pauses', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T09:10:00Z', ticket: t('T1', { priority: 1, state: 'In Progress' }) },
      { at: '2026-03-02T09:20:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T09:50:00Z', ticket: t('T1', { priority: 1, state: 'In Progress' }) },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T10:05:00Z', check: 'third pause' },
      { at: '2026-03-02T11:00:00Z', ticket: t('T1', { priority: 1, state: 'In Progress' }) },
      { at: '2026-03-02T11:00:00Z', check: 'running' },
    ]);
    expect(find(out, 'third pause', 'P1')).toMatchObject({ status: 'Pending', startedAt: '2026-03-02T09:00:00.000Z', elapsedSeconds: 1200, pausedSeconds: 2700, dueAt: null });
    expect(find(out, 'running', 'P1')).toMatchObject({ elapsedSeconds: 1200, pausedSeconds: 6000, dueAt: '2026-03-02T11:40:00.000Z' });
  });
});

describe('business calendars on targets', () => {
  const office = { id: 'office', timezone: 'Europe/Berlin', weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '17:00']]])) };

  it('counts only business hours and projects the due instant over the night and the weekend', () => {
    const out = play({ calendars: [office], serviceTargets: [{ ...P1, goal: { duration: '4h' }, calendar: 'office' }] }, [
      // Fri 2026-03-06 15:00 Berlin (14:00Z): 2 h left today, 2 h on Monday.
      { at: '2026-03-06T14:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-07T12:00:00Z', check: 'saturday' },
    ]);
    expect(find(out, 'saturday', 'P1')).toMatchObject({ status: 'InProcess', elapsedSeconds: 2 * H, dueAt: '2026-03-09T10:00:00.000Z', calendar: 'office' });
  });

  it('measures across a DST change in real elapsed seconds of the open hours', () => {
    const nights = { id: 'nights', timezone: 'Europe/Berlin', weekly: { sat: [['22:00', '06:00']] } };
    const out = play({ calendars: [nights], serviceTargets: [{ ...P1, goal: { duration: '10h' }, calendar: 'nights' }] }, [
      // Sat 2026-03-28 22:00 CET → Sun 06:00 CEST is 7 real hours (the clock skips 02:00–03:00).
      { at: '2026-03-28T21:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-29T12:00:00Z', check: 'sunday' },
    ]);
    // 7 h on the first night; the remaining 3 h from Sat 2026-04-04 22:00 CEST (20:00Z).
    expect(find(out, 'sunday', 'P1')).toMatchObject({ elapsedSeconds: 7 * H, dueAt: '2026-04-04T23:00:00.000Z' });
  });

  it('takes the calendar from a ticket field; an unknown one makes the measurement Invalid', () => {
    const defs = { calendars: [office], serviceTargets: [{ ...P1, calendar: { fromField: 'calendar' } }] };
    const out = play(defs, [
      { at: '2026-03-06T15:30:00Z', ticket: t('T1', { priority: 1, state: 'New', calendar: 'office' }) },
      { at: '2026-03-06T15:30:00Z', ticket: t('T2', { priority: 1, state: 'New', calendar: 'mars' }) },
    ]);
    expect(find(out, 'end', 'P1')).toMatchObject({ calendar: 'office', dueAt: '2026-03-09T08:30:00.000Z' });
    expect(find(out, 'end', 'P1', 'T2')).toMatchObject({ status: 'Invalid', reason: 'calendar field "calendar" names unknown calendar "mars"' });
  });
});

describe('goals and start times from the ticket', () => {
  it('takes the goal from a field in seconds or as a due instant, and re-reads it when it changes', () => {
    const defs = { serviceTargets: [{ ...P1, goal: { fromField: 'goal' } }] };
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New', goal: 7200 }) },
      { at: '2026-03-02T09:00:00Z', ticket: t('T2', { priority: 1, state: 'New', goal: '2026-03-02T12:00:00Z' }) },
      { at: '2026-03-02T09:00:00Z', ticket: t('T3', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', check: 'first' },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'New', goal: 1800 }) },
      { at: '2026-03-02T10:00:00Z', check: 'lowered' },
    ]);
    expect(find(out, 'first', 'P1')).toMatchObject({ goalSeconds: 7200, dueAt: '2026-03-02T11:00:00.000Z' });
    expect(find(out, 'first', 'P1', 'T2')).toMatchObject({ goalSeconds: 3 * H, dueAt: '2026-03-02T12:00:00.000Z' });
    expect(find(out, 'first', 'P1', 'T3')).toMatchObject({ status: 'Invalid', reason: 'goal field "goal" is missing' });
    // Lowered below the elapsed time: missed at the instant elapsed crossed the new goal.
    expect(find(out, 'lowered', 'P1')).toMatchObject({ status: 'MissedGoal', goalSeconds: 1800, missedGoalAt: '2026-03-02T09:30:00.000Z' });
  });

  it('picks the goal from a schedule by the start time in the calendar zone, with its cost', () => {
    const office = { id: 'office', timezone: 'Europe/Berlin', weekly: { mon: [['00:00', '24:00']], sat: [['00:00', '24:00']] } };
    const defs = {
      calendars: [office],
      serviceTargets: [{ ...P1, calendar: 'office', goal: { schedule: [{ days: ['mon'], from: '08:00', to: '18:00', goal: '2h', costPerMinute: 5 }, { goal: '8h' }] } }],
    };
    const out = play(
      defs,
      [
        { at: '2026-03-02T07:30:00Z', ticket: t('T1', { priority: 1, state: 'New' }) }, // Mon 08:30 Berlin
        { at: '2026-03-02T06:30:00Z', ticket: t('T2', { priority: 1, state: 'New' }) }, // Mon 07:30 Berlin
      ].sort((a, b) => a.at.localeCompare(b.at)),
    );
    expect(find(out, 'end', 'P1')).toMatchObject({ goalSeconds: 2 * H });
    expect(find(out, 'end', 'P1', 'T2')).toMatchObject({ goalSeconds: 8 * H });
  });

  it('starts retroactively from a field: that time counts as elapsed; a future instant is clamped; missing is Invalid', () => {
    const defs = { serviceTargets: [{ ...P1, startTime: { fromField: 'openedAt' } }] };
    const out = play(defs, [
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: 1, state: 'New', openedAt: '2026-03-02T09:00:00Z' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T2', { priority: 1, state: 'New', openedAt: '2026-03-02T11:00:00Z' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T3', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T4', { priority: 1, state: 'New', openedAt: '2026-03-02T07:00:00Z' }) },
    ]);
    expect(find(out, 'end', 'P1')).toMatchObject({ startedAt: '2026-03-02T09:00:00.000Z', elapsedSeconds: 1800, dueAt: '2026-03-02T10:00:00.000Z' });
    expect(find(out, 'end', 'P1', 'T2')).toMatchObject({ startedAt: '2026-03-02T09:30:00.000Z', elapsedSeconds: 0 });
    expect(find(out, 'end', 'P1', 'T3')).toMatchObject({ status: 'Invalid', reason: 'start time field "openedAt" is missing' });
    // Started 2.5 h ago on a 1 h goal: already missed, at the instant the goal was reached.
    expect(find(out, 'end', 'P1', 'T4')).toMatchObject({ status: 'MissedGoal', missedGoalAt: '2026-03-02T08:00:00.000Z', elapsedSeconds: 9000 });
  });
});

describe('service-target groups (seed pp. 25–29) and reopen (p. 30)', () => {
  const group = {
    serviceTargets: [
      { id: 'HIGH', ...base, appliesTo: 'ticket.priority == 1', goal: { duration: '4h' }, group: 'resolution' },
      { id: 'LOW', ...base, appliesTo: 'ticket.priority == 3', goal: { duration: '8h' }, group: 'resolution' },
    ],
  };

  it('a running target replaced on a priority change: the new one inherits start and elapsed time', () => {
    const out = play(group, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T11:00:00Z', ticket: t('T1', { priority: 3, state: 'New' }) },
      { at: '2026-03-02T12:00:00Z', check: 'after' },
    ]);
    expect(find(out, 'after', 'HIGH')).toMatchObject({ status: 'Detached', inheritedBy: 'LOW', elapsedSeconds: 2 * H });
    expect(find(out, 'after', 'LOW')).toMatchObject({
      status: 'InProcess',
      inheritedFrom: 'HIGH',
      startedAt: '2026-03-02T09:00:00.000Z',
      elapsedSeconds: 3 * H,
      dueAt: '2026-03-02T17:00:00.000Z',
    });
  });

  it('a pending target replaced: the new one stays pending with the inherited down time', () => {
    const out = play(group, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T11:00:00Z', ticket: t('T1', { priority: 3, state: 'On Hold' }) },
      { at: '2026-03-02T11:30:00Z', check: 'pending' },
      { at: '2026-03-02T12:00:00Z', ticket: t('T1', { priority: 3, state: 'In Progress' }) },
      { at: '2026-03-02T12:00:00Z', check: 'resumed' },
    ]);
    expect(find(out, 'pending', 'LOW')).toMatchObject({ status: 'Pending', elapsedSeconds: H, pausedSeconds: 1.5 * H, dueAt: null });
    expect(find(out, 'resumed', 'LOW')).toMatchObject({ status: 'InProcess', pausedSeconds: 2 * H, dueAt: '2026-03-02T19:00:00.000Z' });
  });

  it('a stopped target and a later re-attach in the group: the dead time counts as excluded', () => {
    const out = play(group, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
      { at: '2026-03-02T13:00:00Z', ticket: t('T1', { priority: 3, state: 'In Progress' }) },
      { at: '2026-03-02T13:00:00Z', check: 'reattached' },
    ]);
    expect(find(out, 'reattached', 'HIGH')).toMatchObject({ status: 'Detached', inheritedBy: 'LOW' });
    expect(find(out, 'reattached', 'LOW')).toMatchObject({
      status: 'InProcess',
      startedAt: '2026-03-02T09:00:00.000Z',
      elapsedSeconds: H,
      pausedSeconds: 3 * H,
      dueAt: '2026-03-02T20:00:00.000Z',
    });
  });

  it('a target attaching already closed is evaluated with the inherited time against its own goal', () => {
    const out = play(group, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T15:00:00Z', ticket: t('T1', { priority: 3, state: 'Closed' }) },
    ]);
    // HIGH missed its 4 h at 13:00 and is replaced as it closes; LOW's 8 h goal is met with 6 h elapsed.
    expect(find(out, 'end', 'HIGH')).toMatchObject({ status: 'Detached', inheritedBy: 'LOW', missedGoalAt: '2026-03-02T13:00:00.000Z' });
    expect(find(out, 'end', 'LOW')).toMatchObject({ status: 'Met', elapsedSeconds: 6 * H, inheritedFrom: 'HIGH', milestones: [] });
  });

  it('a reopened ticket returns to InProcess with its elapsed time; the closed gap is excluded (p. 30)', () => {
    const out = play(group, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
      { at: '2026-03-02T10:30:00Z', check: 'met' },
      { at: '2026-03-02T12:00:00Z', ticket: t('T1', { priority: 1, state: 'In Progress' }) },
      { at: '2026-03-02T12:30:00Z', check: 'reopened' },
    ]);
    expect(find(out, 'met', 'HIGH')).toMatchObject({ status: 'Met', dueAt: '2026-03-02T13:00:00.000Z' });
    expect(find(out, 'reopened', 'HIGH')).toMatchObject({
      status: 'InProcess',
      stoppedAt: null,
      elapsedSeconds: 1.5 * H,
      pausedSeconds: 2 * H,
      dueAt: '2026-03-02T15:00:00.000Z',
    });
  });
});

describe('due instants kept when the goal was reached before the stop (DESIGN §4.3)', () => {
  const pair = {
    serviceTargets: [
      { id: 'A', ...base, appliesTo: 'ticket.priority == 1', goal: { duration: '4h' }, group: 'g' },
      { id: 'B', ...base, appliesTo: 'ticket.priority == 3', goal: { duration: '2h' }, group: 'g' },
    ],
  };

  it('a member inheriting elapsed time exactly at its goal and stopping at once keeps the instant the goal was reached', () => {
    const out = play(pair, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T11:00:00Z', ticket: t('T1', { priority: 1, state: 'On Hold' }) },
      { at: '2026-03-02T12:00:00Z', ticket: t('T1', { priority: 3, state: 'Closed' }) },
    ]);
    expect(find(out, 'end', 'B')).toMatchObject({ status: 'Met', elapsedSeconds: 2 * H, stoppedAt: '2026-03-02T12:00:00.000Z', dueAt: '2026-03-02T11:00:00.000Z' });
  });

  it('a member inheriting elapsed time past its goal and stopping at once keeps the instant the goal was reached', () => {
    const out = play(pair, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T12:00:00Z', ticket: t('T1', { priority: 3, state: 'Closed' }) },
    ]);
    expect(find(out, 'end', 'B')).toMatchObject({ status: 'Missed', elapsedSeconds: 3 * H, missedGoalAt: '2026-03-02T11:00:00.000Z', dueAt: '2026-03-02T11:00:00.000Z' });
  });

  it('a measurement stopping exactly as it reaches its goal keeps the stop instant (Met)', () => {
    const out = play({ serviceTargets: [{ ...P1, goal: { duration: '1h' } }] }, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', ticket: t('T1', { priority: 1, state: 'Closed' }) },
    ]);
    expect(find(out, 'end', 'P1')).toMatchObject({ status: 'Met', dueAt: '2026-03-02T10:00:00.000Z' });
  });
});

describe('milestones and actions', () => {
  const withMilestones = (milestones: unknown[], extra: Record<string, unknown> = {}) => ({ serviceTargets: [{ ...P1, goal: { duration: '2h' }, milestones, ...extra }] });

  it('fires the 50 % milestone of a 2 h goal at 1 h (seed p. 19), moved by pauses', () => {
    const effects: ActionEffect[] = [];
    const defs = withMilestones([{ name: 'warn-50', at: { percentOfGoal: 50 }, actions: [{ notify: { webhook: 'http://127.0.0.1:1/hook' } }] }]);
    const out = play(
      defs,
      [
        { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
        { at: '2026-03-02T09:00:00Z', ticket: t('T2', { priority: 1, state: 'New' }) },
        { at: '2026-03-02T09:30:00Z', ticket: t('T2', { priority: 1, state: 'On Hold' }) },
        { at: '2026-03-02T09:45:00Z', check: 'paused' },
        { at: '2026-03-02T10:00:00Z', ticket: t('T2', { priority: 1, state: 'In Progress' }) },
        { at: '2026-03-02T11:00:00Z', check: 'later' },
      ],
      effects,
    );
    expect(find(out, 'later', 'P1')!.milestones).toEqual([{ name: 'warn-50', dueAt: null, firedAt: '2026-03-02T10:00:00.000Z', firings: 1 }]);
    expect(find(out, 'paused', 'P1', 'T2')!.milestones[0]).toMatchObject({ dueAt: null, firedAt: null });
    expect(find(out, 'later', 'P1', 'T2')!.milestones[0]).toMatchObject({ firedAt: '2026-03-02T10:30:00.000Z' });
    expect(effects.map((e) => [e.ticketId, e.key, new Date(e.firedAt).toISOString()])).toEqual([
      ['T1', 'T1|P1|warn-50|0|0', '2026-03-02T10:00:00.000Z'],
      ['T2', 'T2|P1|warn-50|0|0', '2026-03-02T10:30:00.000Z'],
    ]);
  });

  it('fires afterStart, beforeDue and afterDue offsets in business time; afterDue only while not stopped', () => {
    const defs = withMilestones([
      { name: 'after-30m', at: { afterStart: '30m' } },
      { name: 'before-15m', at: { beforeDue: '15m' } },
      { name: 'after-due-1h', at: { afterDue: '1h' } },
    ]);
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T11:30:00Z', ticket: t('T1', { priority: 1, state: 'Resolved' }) },
      { at: '2026-03-02T15:00:00Z', check: 'later' },
    ]);
    const ms = Object.fromEntries(find(out, 'later', 'P1')!.milestones.map((m) => [m.name, m.firedAt]));
    expect(ms).toEqual({ 'after-30m': '2026-03-02T09:30:00.000Z', 'before-15m': '2026-03-02T10:45:00.000Z', 'after-due-1h': null });
  });

  it('repeats every interval `times` more, and skips (without retrying) a firing whose `if` is false', () => {
    const defs = withMilestones([{ name: 'nag', at: { afterStart: '1h' }, repeat: { every: '15m', times: 2 }, if: 'ticket.assignee == ""' }]);
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New', assignee: '' }) },
      { at: '2026-03-02T10:20:00Z', ticket: t('T1', { priority: 1, state: 'New', assignee: 'bob' }) },
      { at: '2026-03-02T10:40:00Z', ticket: t('T1', { priority: 1, state: 'New', assignee: '' }) },
      { at: '2026-03-02T12:00:00Z', check: 'later' },
    ]);
    const m = find(out, 'later', 'P1')!;
    expect(m.firings.map((f) => [f.occurrence, f.firedAt, f.skipped !== null])).toEqual([
      [0, '2026-03-02T10:00:00.000Z', false],
      [1, '2026-03-02T10:15:00.000Z', false],
      [2, '2026-03-02T10:30:00.000Z', true],
    ]);
    expect(m.milestones[0]).toMatchObject({ dueAt: null, firings: 2, firedAt: '2026-03-02T10:15:00.000Z' });
  });

  it('fires on start, exclude and stop, and on the rising edge of a custom condition', () => {
    const defs = withMilestones([
      { name: 'started', at: { on: 'start' } },
      { name: 'held', at: { on: 'exclude' } },
      { name: 'closed', at: { on: 'stop' } },
      { name: 'vip', at: { when: 'ticket.vip == true' }, repeat: { every: '1m', times: 5 } },
    ]);
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:10:00Z', ticket: t('T1', { priority: 1, state: 'On Hold', vip: true }) },
      { at: '2026-03-02T09:20:00Z', ticket: t('T1', { priority: 1, state: 'New', vip: true }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: 1, state: 'New', vip: false }) },
      { at: '2026-03-02T09:40:00Z', ticket: t('T1', { priority: 1, state: 'Resolved', vip: true }) },
    ]);
    const fired = find(out, 'end', 'P1')!.firings.map((f) => `${f.milestone}@${f.firedAt.slice(11, 16)}`);
    expect(fired).toEqual(['started@09:00', 'held@09:10', 'vip@09:10', 'closed@09:40', 'vip@09:40']);
  });

  it('setField changes the ticket at the firing instant and every condition is evaluated again', () => {
    const effects: ActionEffect[] = [];
    const defs = {
      serviceTargets: [
        { ...P1, goal: { duration: '2h' }, milestones: [{ name: 'escalate', at: { percentOfGoal: 50 }, actions: [{ setField: { escalated: true } }] }] },
        { id: 'ESC', ...base, appliesTo: 'ticket.escalated == true', goal: { duration: '30m' } },
      ],
    };
    const out = play(
      defs,
      [
        { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
        { at: '2026-03-02T10:10:00Z', check: 'after' },
      ],
      effects,
    );
    expect(find(out, 'after', 'ESC')).toMatchObject({ status: 'InProcess', startedAt: '2026-03-02T10:00:00.000Z', elapsedSeconds: 600 });
    expect(find(out, 'after', 'P1')!.firings[0]!.actions).toEqual([{ kind: 'setField', status: 'done', detail: 'set escalated' }]);
    expect(effects[0]).toMatchObject({ action: { setField: { escalated: true } }, key: 'T1|P1|escalate|0|0' });
  });
});

describe('definition edits', () => {
  it('recompute open measurements from the edit on; final ones keep their result', () => {
    const out = play(defs1, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:00:00Z', ticket: t('T2', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T2', { priority: 1, state: 'Resolved' }) },
      { at: '2026-03-02T09:40:00Z', definitions: { serviceTargets: [{ ...P1, goal: { duration: '4h' } }] } },
      { at: '2026-03-02T09:50:00Z', check: 'after edit' },
    ]);
    expect(find(out, 'after edit', 'P1')).toMatchObject({ goalSeconds: 4 * H, dueAt: '2026-03-02T13:00:00.000Z', definitionVersion: '2' });
    expect(find(out, 'after edit', 'P1', 'T2')).toMatchObject({ status: 'Met', goalSeconds: H, dueAt: '2026-03-02T10:00:00.000Z', definitionVersion: '1' });
  });

  it('a calendar edit moves the due instant of open measurements', () => {
    const cal = (to: string) => ({ id: 'c', timezone: 'UTC', weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', to]]])) });
    const out = play({ calendars: [cal('17:00')], serviceTargets: [{ ...P1, goal: { duration: '8h' }, calendar: 'c' }] }, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: 1, state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', check: 'before' },
      { at: '2026-03-02T11:00:00Z', definitions: { calendars: [cal('13:00')] } },
      { at: '2026-03-02T11:00:00Z', check: 'after' },
    ]);
    expect(find(out, 'before', 'P1')!.dueAt).toBe('2026-03-02T17:00:00.000Z');
    // 2 h counted; 6 h left at 4 h a day: 2 h today, 4 h tomorrow.
    expect(find(out, 'after', 'P1')!.dueAt).toBe('2026-03-03T13:00:00.000Z');
  });
});

describe('replay input', () => {
  it('rejects bad lines with the line number, and bad definitions with the field path', () => {
    expect(() => parseEvents('{"at":"2026-03-02T09:00:00Z","ticket":{"id":"T1"}}\n{"at":"yesterday","check":"x"}')).toThrow('line 2: "at" must be an ISO 8601 instant');
    expect(() => parseEvents('{"at":"2026-03-02T09:00:00Z","check":"a"}\n{"at":"2026-03-02T08:00:00Z","check":"b"}')).toThrow('line 2: "at" goes back in time');
    expect(() => replay({ serviceTargets: [{ ...P1, goal: { duration: 'soon' } }] }, [])).toThrow(/serviceTargets\[0\]\.goal/);
    expect(() => replay(defs1, parseEvents('{"at":"2026-03-02T09:00:00Z","ticket":{"state":"New"}}'))).toThrow(ReplayError);
  });
});

describe('properties', () => {
  const office = {
    id: 'office',
    timezone: 'Europe/Berlin',
    weekly: {
      ...Object.fromEntries(
        ['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [
          d,
          [
            ['08:00', '12:00'],
            ['13:00', '17:30'],
          ],
        ]),
      ),
      sat: [['22:00', '06:00']],
    },
    holidays: ['2026-03-27'],
  };
  const defs = { calendars: [office], serviceTargets: [{ ...P1, goal: { duration: '6h' }, calendar: 'office', milestones: [{ name: 'half', at: { percentOfGoal: 50 } }] }] };
  const states = ['New', 'On Hold', 'In Progress', 'On Hold', 'Resolved'];
  const history = fc.array(fc.tuple(fc.integer({ min: 1, max: 4 * 86400 }), fc.constantFrom(...states)), { minLength: 1, maxLength: 12 }).map((steps) => {
    let at = Date.parse('2026-03-20T07:13:00Z');
    const lines: Line[] = [{ at: new Date(at).toISOString(), ticket: t('T1', { priority: 1, state: 'New' }) }];
    for (const [gap, state] of steps) {
      at += gap * 1000;
      lines.push({ at: new Date(at).toISOString(), ticket: t('T1', { priority: 1, state }) });
    }
    return lines;
  });
  const calendar = BusinessCalendar.fromSpec(office);

  it('elapsed + paused business time equals the calendar diff between start and stop (or now)', () => {
    fc.assert(
      fc.property(history, (lines) => {
        const m = find(play(defs, lines), 'end', 'P1')!;
        const end = m.stoppedAt ?? lines[lines.length - 1]!.at;
        const total = calendar.diff(Date.parse(m.startedAt!), Date.parse(end));
        expect(m.elapsedSeconds + m.pausedSeconds).toBe(total);
      }),
      { numRuns: 60 },
    );
  });

  it('replaying the same history twice gives identical output', () => {
    fc.assert(
      fc.property(history, (lines) => {
        expect(JSON.stringify(play(defs, lines))).toBe(JSON.stringify(play(defs, lines)));
      }),
      { numRuns: 15 },
    );
  });
});

describe('timers that run late (the stack was down)', () => {
  const defs = compileDefinitions(
    parseDefinitions({ serviceTargets: [{ ...P1, goal: { duration: '1h' }, milestones: [{ name: 'half', at: { percentOfGoal: 50 }, actions: [{ setField: { half: true } }] }] }] }),
    '1',
  );
  const env = engineEnv(defs, (cal) => BusinessCalendar.fromSpec(cal));
  const at = (iso: string) => Date.parse(iso);

  it('records when a milestone and a due instant actually ran beside their instants, and the timeline shows the lateness', () => {
    const state = newEngineState('T1');
    applyTicketChange(state, env, { id: 'T1', priority: 1, state: 'New' }, at('2026-03-02T09:00:00Z'));
    // Nothing ran between 09:00 and 12:10: both timers run when the stack is back.
    const effects = advance(state, env, at('2026-03-02T12:10:00Z'), at('2026-03-02T12:10:00Z'));
    const view = toView(state.measurements[0]!, at('2026-03-02T12:10:00Z'), env.calendar(null));
    expect(view.firings[0]).toMatchObject({ milestone: 'half', firedAt: '2026-03-02T09:30:00.000Z', ranAt: '2026-03-02T12:10:00.000Z' });
    expect(effects[0]).toMatchObject({ firedAt: at('2026-03-02T09:30:00Z'), ranAt: at('2026-03-02T12:10:00Z') });
    expect(view.segments.find((s) => s.status === 'MissedGoal')).toMatchObject({ start: '2026-03-02T10:00:00.000Z', ranAt: '2026-03-02T12:10:00.000Z' });
    const timeline = renderTimeline({ ticket: state.ticket, measurements: [view], serviceProblem: null, rejectedChanges: [] });
    expect(timeline).toContain('2026-03-02 09:30:00Z  milestone half #1 fired: setField done (set half) (ran 2h 40m late, at 2026-03-02 12:10:00Z)');
    expect(timeline).toContain('2026-03-02 10:00:00Z  MissedGoal goal passed; clock still running — counted 2h 10m (ran 2h 10m late, at 2026-03-02 12:10:00Z)');
  });

  it('records nothing for timers that ran on time', () => {
    const state = newEngineState('T1');
    applyTicketChange(state, env, { id: 'T1', priority: 1, state: 'New' }, at('2026-03-02T09:00:00Z'));
    advance(state, env, at('2026-03-02T09:30:00Z'), at('2026-03-02T09:30:00.400Z'));
    advance(state, env, at('2026-03-02T10:00:00Z'), at('2026-03-02T10:00:01Z'));
    const view = toView(state.measurements[0]!, at('2026-03-02T10:00:01Z'), null);
    expect(view.firings[0]).not.toHaveProperty('ranAt');
    expect(view.segments.every((s) => s.ranAt === undefined)).toBe(true);
  });
});

describe('free-form priorities in replay', () => {
  it('measures "2 normal", and detaches it for "1 low" when the priority changes', () => {
    const defs = {
      serviceTargets: [
        { id: 'P2', appliesTo: 'ticket.priority == "2 normal"', stop: 'ticket.state == "Closed"', goal: { duration: '4h' } },
        { id: 'P1', appliesTo: 'ticket.priority == "1 low"', stop: 'ticket.state == "Closed"', goal: { duration: '1h' } },
      ],
    };
    const out = play(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: t('T1', { priority: '2 normal', state: 'New' }) },
      { at: '2026-03-02T09:30:00Z', ticket: t('T1', { priority: '1 low', state: 'New' }) },
      { at: '2026-03-02T10:00:00Z', check: 'after' },
    ]);
    expect(find(out, 'after', 'P2')).toMatchObject({ status: 'Detached', elapsedSeconds: 1800, stoppedAt: '2026-03-02T09:30:00.000Z' });
    expect(find(out, 'after', 'P1')).toMatchObject({ status: 'InProcess', startedAt: '2026-03-02T09:30:00.000Z', elapsedSeconds: 1800 });
  });
});
