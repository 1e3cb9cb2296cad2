import { compileTarget, parseDefinitions } from '../../src/domain/definitions';
import { applyTicket, fireTimers, nextTimer, toView, type Measurement } from '../../src/domain/measurement';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const target = compileTarget(
  parseDefinitions({
    serviceTargets: [
      {
        id: 'P1',
        appliesTo: 'ticket.priority == 1',
        start: 'ticket.state != "Draft"',
        stop: 'ticket.state in ["Resolved", "Closed"]',
        exclude: 'ticket.state == "On Hold"',
        goal: { duration: '1h' },
        costPerMinute: 10,
      },
    ],
  }).serviceTargets[0]!,
);

function step(m: Measurement | null, ticket: Record<string, unknown>, at: number): Measurement | null {
  return applyTicket(m && fireTimers(m, at), target, { id: 'T1', ...ticket }, at);
}

describe('request measurement state machine', () => {
  it('does not attach when the terms do not match', () => {
    expect(step(null, { priority: 2, state: 'New' }, T0)).toBeNull();
  });

  it('attaches without starting until the start condition holds', () => {
    const m = step(null, { priority: 1, state: 'Draft' }, T0)!;
    expect(m.status).toBe('Attached');
    expect(toView(m, T0 + 10 * MIN).elapsedSeconds).toBe(0);
    const started = step(m, { priority: 1, state: 'New' }, T0 + 10 * MIN)!;
    expect(started.status).toBe('InProcess');
    expect(toView(started, T0 + 10 * MIN).dueAt).toBe(new Date(T0 + 70 * MIN).toISOString());
  });

  it('counts elapsed time while running and projects the due instant', () => {
    const m = step(null, { priority: 1, state: 'New' }, T0)!;
    const v = toView(m, T0 + 20 * MIN);
    expect(v).toMatchObject({ status: 'InProcess', elapsedSeconds: 1200, metMissedSeconds: 2400, dueAt: new Date(T0 + 60 * MIN).toISOString() });
  });

  it('pauses the clock while the exclude condition holds; dueAt is null while paused', () => {
    let m = step(null, { priority: 1, state: 'New' }, T0)!;
    m = step(m, { priority: 1, state: 'On Hold' }, T0 + 10 * MIN)!;
    expect(toView(m, T0 + 40 * MIN)).toMatchObject({ status: 'Pending', elapsedSeconds: 600, pausedSeconds: 1800, dueAt: null });
    m = step(m, { priority: 1, state: 'In Progress' }, T0 + 40 * MIN)!;
    expect(toView(m, T0 + 40 * MIN).dueAt).toBe(new Date(T0 + 90 * MIN).toISOString());
  });

  it('fires the due timer at its own instant even when the next event comes later', () => {
    let m = step(null, { priority: 1, state: 'New' }, T0)!;
    expect(nextTimer(m)).toBe(T0 + 60 * MIN);
    m = step(m, { priority: 1, state: 'In Progress' }, T0 + 95 * MIN)!;
    expect(m.status).toBe('MissedGoal');
    expect(m.goalReachedAt).toBe(T0 + 60 * MIN);
    expect(toView(m, T0 + 95 * MIN).elapsedSeconds).toBe(95 * 60);
  });

  it('is Met when elapsed equals the goal, Missed when it exceeds it, with impact cost', () => {
    const start = step(null, { priority: 1, state: 'New' }, T0)!;
    const exact = step(start, { priority: 1, state: 'Resolved' }, T0 + 60 * MIN)!;
    expect(exact.status).toBe('Met');
    const late = step(start, { priority: 1, state: 'Resolved' }, T0 + 75 * MIN)!;
    expect(late.status).toBe('Missed');
    expect(toView(late, T0 + 200 * MIN)).toMatchObject({ metMissedSeconds: -900, impactCost: 150, dueAt: new Date(T0 + 60 * MIN).toISOString() });
  });

  it('lets stop win over exclude: a ticket closed from On Hold is final', () => {
    let m = step(null, { priority: 1, state: 'New' }, T0)!;
    m = step(m, { priority: 1, state: 'On Hold' }, T0 + 5 * MIN)!;
    m = applyTicket(m, target, { id: 'T1', priority: 1, state: 'Closed' }, T0 + 30 * MIN)!;
    expect(m.status).toBe('Met');
    expect(toView(m, T0 + 30 * MIN)).toMatchObject({ elapsedSeconds: 300, pausedSeconds: 1500 });
  });

  it('keeps a final result when the ticket changes again', () => {
    let m = step(null, { priority: 1, state: 'New' }, T0)!;
    m = step(m, { priority: 1, state: 'Resolved' }, T0 + MIN)!;
    expect(step(m, { priority: 1, state: 'New' }, T0 + 2 * MIN)!.status).toBe('Met');
  });

  it('detaches when the terms stop matching and starts fresh when they match again', () => {
    let m = step(null, { priority: 1, state: 'New' }, T0)!;
    m = step(m, { priority: 3, state: 'New' }, T0 + 10 * MIN)!;
    expect(m.status).toBe('Detached');
    expect(toView(m, T0 + 10 * MIN).dueAt).toBeNull();
    m = step(m, { priority: 1, state: 'New' }, T0 + 20 * MIN)!;
    expect(m).toMatchObject({ status: 'InProcess', elapsedMs: 0, startedAt: T0 + 20 * MIN });
  });

  it('treats a missing field as false but a type mismatch as Invalid with the reason', () => {
    expect(step(null, { state: 'New' }, T0)).toBeNull();
    const ordered = compileTarget({ ...target, id: 'P-ordered', appliesTo: 'ticket.priority <= 2' });
    expect(applyTicket(null, ordered, { id: 'T1', state: 'New' }, T0)).toBeNull();
    const bad = applyTicket(null, ordered, { id: 'T1', priority: 'one' as never, state: 'New' }, T0)!;
    expect(bad.status).toBe('Invalid');
    expect(bad.reason).toMatch(/ticket\.priority <= 2.*no such overload/);
    expect(toView(bad, T0).dueAt).toBeNull();
  });
});
