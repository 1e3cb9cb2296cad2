/**
 * The decisions a ticket run makes besides measuring (domain/snow/snowCycle, request/ticketLifecycle,
 * notifications, ticketAttributes): pure functions, so these tests and `slm replay` reach them.
 */
import { compileConnector, connectorSchema, DEFAULT_CONNECTOR } from '../../src/domain/snow/connector';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { newMeasurement } from '../../src/domain/request/measurement';
import { milestoneEmail, milestonePayload, measurementIndexOf } from '../../src/domain/notifications';
import { sysTime, sysTimeMs } from '../../src/domain/snow/problemSync';
import { toServiceProblem } from '../../src/domain/snow/serviceProblem';
import {
  createdProblem,
  needsProblem,
  nextPatch,
  patchedProblem,
  problemWriteBackFields,
  remoteFields,
  remoteUpdate,
  ticketCloses,
  writeBackAction,
  writeBackKey,
  DEFAULT_ACTIVE_STATES,
} from '../../src/domain/snow/snowCycle';
import { parseEvents, replay } from '../../src/domain/replay';
import { ticketAttributes } from '../../src/domain/ticketAttributes';
import { isSettled, waitFor } from '../../src/domain/request/ticketLifecycle';

const T0 = Date.parse('2026-03-02T09:00:00Z');

/** A one-minute measurement of target P1 on ticket T1, attached at T0. */
const oneMinuteMeasurement = () =>
  newMeasurement({ ticketId: 'T1', serviceTargetId: 'P1', definitionVersion: '1', group: null, calendarId: null, at: T0, goalMs: 60_000, costPerMinute: null, milestones: [] });

const connector = (raw: unknown) => compileConnector(connectorSchema().parse(raw));

describe('the SNOW cycle', () => {
  it('creates a problem only for an active ticket without one that is not already over', () => {
    const problem = createdProblem({ id: 'P1', incidentNumber: null, link: null }, toServiceProblem({ id: 'T1', state: 'New' }), T0);
    expect(needsProblem({ id: 'T1', state: 'New' }, null, DEFAULT_ACTIVE_STATES)).toBe(true);
    expect(needsProblem({ id: 'T1', state: 'New' }, problem, DEFAULT_ACTIVE_STATES)).toBe(false);
    expect(needsProblem({ id: 'T1', state: 'Draft' }, null, DEFAULT_ACTIVE_STATES)).toBe(false);
    expect(needsProblem({ id: 'T1' }, null, DEFAULT_ACTIVE_STATES)).toBe(false);
    expect(needsProblem({ id: 'T1', state: 'Resolved' }, null, ['Resolved'])).toBe(false);
    expect(needsProblem({ id: 'T1', state: 'Draft' }, null, ['Draft'])).toBe(true);
    expect(problem).toEqual({ id: 'P1', incidentNumber: null, link: null, status: 'acknowledged', lastSyncAt: T0 });
  });

  it('PATCHes only what changed, and on closure resolves with the note at the batch instant', () => {
    const before = toServiceProblem({ id: 'T1', state: 'New', site: 'LUX' });
    const after = toServiceProblem({ id: 'T1', state: 'In Progress', site: 'LUX' });
    expect(nextPatch(DEFAULT_CONNECTOR, { id: 'T1', state: 'In Progress', site: 'LUX' }, before, after, T0)).toEqual({ reason: 'In Progress', status: 'inProgress' });
    expect(nextPatch(DEFAULT_CONNECTOR, { id: 'T1', state: 'New', site: 'LUX' }, before, before, T0)).toBeNull();
    const restored = { id: 'T1', state: 'In Progress', site: 'LUX', restoredBy: 'ses_group' };
    const closing = nextPatch(DEFAULT_CONNECTOR, restored, after, toServiceProblem(restored), T0)!;
    expect(closing).toMatchObject({ status: 'resolved', statusChangeDate: '2026-03-02T09:00:00.000Z', resolutionDate: '2026-03-02T09:00:00.000Z' });
    expect(closing.statusChangeReason).toMatch(/Restored by ses_group/);
    const problem = createdProblem({ id: 'P1', incidentNumber: null, link: null }, before, T0 - 1000);
    expect(patchedProblem(problem, after, true, T0)).toMatchObject({ status: 'resolved', lastSyncAt: T0 });
    expect(patchedProblem(problem, after, false, T0)).toMatchObject({ status: 'inProgress', lastSyncAt: T0 });
  });

  it('has one closure rule: the connector’s closeWhen or the ticket’s own Resolved/Closed', () => {
    expect(ticketCloses(DEFAULT_CONNECTOR, { id: 'T1', restoredBy: 'ses_group' })).toBe(true);
    expect(ticketCloses(DEFAULT_CONNECTOR, { id: 'T1', state: 'Closed' })).toBe(true);
    expect(ticketCloses(DEFAULT_CONNECTOR, { id: 'T1', state: 'In Progress' })).toBe(false);
    // A connector that closes on its own field no longer closes on the seed's ses_group.
    const own = connector({ closeWhen: 'has(ticket.done) && ticket.done' });
    expect(ticketCloses(own, { id: 'T1', restoredBy: 'ses_group' })).toBe(false);
    expect(ticketCloses(own, { id: 'T1', done: true })).toBe(true);
    expect(toServiceProblem({ id: 'T1', state: 'In Progress', restoredBy: 'ses_group' }, own).status).toBe('inProgress');
  });

  it('records SNOW’s change only when it is news, and sets the fields the reactions name', () => {
    const problem = { id: 'P1', incidentNumber: null, link: null, status: 'acknowledged', lastSyncAt: T0 };
    const change = { problemId: 'P1', status: 'held', incidentNumber: 'INC1', link: null, updatedOn: '2026-03-02 09:05:00' };
    const next = remoteUpdate(problem, change)!;
    expect(next).toMatchObject({ status: 'held', incidentNumber: 'INC1' });
    expect(remoteUpdate(next, change)).toBeNull();
    expect(remoteUpdate(problem, { ...change, problemId: 'P2' })).toBeNull();
    const c = connector({ onRemoteChange: [{ when: 'problem.status == "held"', setField: { state: 'On Hold' } }] });
    expect(remoteFields(c, { id: 'T1', state: 'New' }, next)).toEqual({ state: 'On Hold' });
    expect(remoteFields(c, { id: 'T1', state: 'On Hold' }, next)).toBeNull();
    expect(sysTimeMs(change.updatedOn)).toBe(Date.parse('2026-03-02T09:05:00Z'));
    expect(sysTimeMs(sysTime(T0))).toBe(T0);
    expect(sysTimeMs('yesterday')).toBeNull();
  });

  it('writes the problem back under a key per problem, as an action at the batch instant', () => {
    const fields = problemWriteBackFields({ id: 'P1', incidentNumber: 'INC1', link: 'https://snow/INC1' });
    expect(fields).toEqual({ problemId: 'P1', incidentNumber: 'INC1', incidentLink: 'https://snow/INC1' });
    const a = writeBackAction(writeBackKey.problem('T1', 'P1'), { id: 'T1' }, fields, T0);
    expect(a).toMatchObject({ key: 'T1|problem|P1', milestone: 'connector', firedAt: T0, action: { setField: fields } });
    expect(writeBackKey.remote('T1', '2026-03-02 09:05:00')).toBe('T1|remote|2026-03-02 09:05:00');
  });
});

describe('the run’s life', () => {
  const final = () => {
    const m = oneMinuteMeasurement();
    m.status = 'Met';
    return m;
  };
  const resolved = { id: 'P1', incidentNumber: null, link: null, status: 'resolved', lastSyncAt: T0 };

  it('settles when the ticket is closed, every measurement final, no action pending and the problem closed', () => {
    const base = { ticket: { id: 'T1', state: 'Closed' }, closed: true, measurements: [final()], pendingActions: 0, problem: resolved };
    expect(isSettled(base)).toBe(true);
    expect(isSettled({ ...base, closed: false })).toBe(false);
    expect(isSettled({ ...base, pendingActions: 1 })).toBe(false);
    expect(isSettled({ ...base, problem: { ...resolved, status: 'inProgress' } })).toBe(false);
    expect(isSettled({ ...base, problem: null })).toBe(true);
    const open = final();
    open.status = 'InProcess';
    expect(isSettled({ ...base, measurements: [open] })).toBe(false);
  });

  it('sleeps until the next wake-up, else until the reopen window ends, else until a change', () => {
    expect(waitFor(T0, T0 + 5000, T0 + 99999)).toBe(5000);
    expect(waitFor(T0, T0 - 5, null)).toBe(1);
    expect(waitFor(T0, null, T0 + 86_400_000)).toBe(86_400_000);
    expect(waitFor(T0, null, null)).toBeUndefined();
  });

  it('takes the active states, the event field and the reopen window from the definitions', () => {
    const defs = compileDefinitions(parseDefinitions({ connector: { activeStates: ['Assigned'], eventField: 'router' }, engine: { reopenWindow: '3d' } }), '7');
    expect(defs.connector).toMatchObject({ activeStates: ['Assigned'], eventField: 'router' });
    expect(defs.reopenWindowSeconds).toBe(3 * 86400);
    const none = compileDefinitions(parseDefinitions({}), '8');
    expect(none.connector).toMatchObject({ activeStates: null, eventField: null });
    expect(none.reopenWindowSeconds).toBeNull();
    expect(() => parseDefinitions({ engine: { reopenWindow: 'soon' } })).toThrow(/invalid definitions at engine\.reopenWindow: invalid duration "soon"/);
    expect(() => parseDefinitions({ connector: { activeStates: [] } })).toThrow(/invalid definitions at connector\.activeStates/);
  });
});

describe('what people are told', () => {
  const effect = {
    key: 'T1|P1-resolution|warn-50|0|0',
    ticketId: 'T1',
    serviceTargetId: 'P1-resolution',
    milestone: 'warn-50',
    occurrence: 0,
    actionIndex: 0,
    dueAt: T0,
    firedAt: T0 + 1000,
    action: { notify: { email: 'ops@example.com' } },
    ticket: { id: 'T1', state: 'New' },
  };

  it('sends the milestone payload and a two-line e-mail naming the target, the ticket and the clock', () => {
    const p = milestonePayload(effect, null);
    expect(p).toMatchObject({ event: 'milestone', key: effect.key, dueAt: '2026-03-02T09:00:00.000Z', firedAt: '2026-03-02T09:00:01.000Z', measurement: null });
    const mail = milestoneEmail({ ...p, measurement: { status: 'InProcess', dueAt: '2026-03-02T13:00:00.000Z', elapsedSeconds: 7200, goalSeconds: 14400 } as never });
    expect(mail.subject).toBe('[SLM] warn-50: P1-resolution on ticket T1');
    expect(mail.text).toBe(
      'Milestone warn-50 of service target P1-resolution fired at 2026-03-02T09:00:01.000Z on ticket T1.\nStatus InProcess; due 2026-03-02T13:00:00.000Z; elapsed 7200 s of 14400 s.',
    );
    expect(milestoneEmail(p, 'Custom').subject).toBe('Custom');
    expect(measurementIndexOf(effect.key, ['P2-response', 'P1-resolution'])).toBe(1);
  });

  it('publishes the search attributes: breached, next due, state, rank, problem, statuses', () => {
    const m = oneMinuteMeasurement();
    m.status = 'MissedGoal';
    const a = ticketAttributes({ id: 'T1', state: 'In Progress', priority: '2 high' }, [m], { id: 'P9', incidentNumber: 'INC9' });
    expect(a).toEqual({
      ticketId: 'T1',
      breached: true,
      nextDue: null,
      ticketState: 'In Progress',
      priority: 2,
      problemId: 'P9',
      incidentNumber: 'INC9',
      statuses: ['MissedGoal', 'P1:MissedGoal'],
    });
  });
});

describe('slm replay --decisions: every decision the ticket run makes, offline', () => {
  const definitions = {
    serviceTargets: [
      {
        id: 'P1',
        appliesTo: 'ticket.priority == 1',
        stop: 'ticket.state in ["Resolved", "Closed"]',
        goal: { duration: '4h' },
        milestones: [{ name: 'half', at: { percentOfGoal: 50 }, actions: [{ notify: { email: 'ops@example.com' } }, { setField: { slaWarning: true } }] }],
      },
    ],
  };
  const lines = [
    { at: '2026-03-02T09:00:00Z', ticket: { id: 'T1', priority: 1, state: 'New', deviceIp: '10.0.0.1' } },
    { at: '2026-03-02T10:00:00Z', ticket: { id: 'T1', priority: 1, state: 'In Progress' } },
    { at: '2026-03-02T11:30:00Z', check: 'after the milestone' },
    { at: '2026-03-02T12:00:00Z', ticket: { id: 'T1', priority: 1, state: 'Resolved', slaWarning: true, restoredBy: 'ses_group' } },
  ];
  const out = () => replay(definitions, parseEvents(lines.map((l) => JSON.stringify(l)).join('\n')), undefined, { decisions: true });

  it('creates the problem, writes it back, raises the device alarm and PATCHes, in the workflow’s order', () => {
    const [mid] = out();
    const d = mid!.decisions!.T1!;
    expect(d.requests.map((r) => r.kind)).toEqual(['create', 'writeBack', 'alarm', 'patch', 'patch']);
    expect(d.requests[0]).toMatchObject({ at: '2026-03-02T09:00:00.000Z', body: { status: 'acknowledged', correlationId: 'ticket:T1' } });
    expect(d.requests[1]).toMatchObject({ key: 'T1|problem|problem-1', fields: { problemId: 'problem-1' } });
    expect(d.requests[2]).toMatchObject({ at: '2026-03-02T10:00:00.000Z', body: { alarmedObject: { id: '10.0.0.1' }, alarmDetails: 'service problem problem-1' } });
    expect(d.requests[3]).toMatchObject({ patch: { status: 'inProgress' } });
    // The milestone's setField at 11:00 changed the ticket: its PATCH carries the field.
    expect(d.requests[4]).toMatchObject({ at: '2026-03-02T11:30:00.000Z', patch: { characteristic: [{ name: 'slaWarning', value: true }] } });
    expect(d.actions.map((a) => a.kind)).toEqual(['email', 'setField']);
    expect(d.actions[0]).toMatchObject({ at: '2026-03-02T11:00:00.000Z', subject: '[SLM] half: P1 on ticket T1' });
    expect(d.searchAttributes).toMatchObject({ ticketId: 'T1', ticketState: 'In Progress', problemId: 'problem-1', breached: false });
    expect(d.settled).toBe(false);
  });

  it('closes the problem with the note when the ticket resolves, and the run settles', () => {
    const end = out()[1]!.decisions!.T1!;
    expect(end.requests).toEqual([
      expect.objectContaining({ kind: 'patch', patch: expect.objectContaining({ status: 'resolved', resolutionDate: '2026-03-02T12:00:00.000Z' }) as unknown }),
    ]);
    expect(end.serviceProblem).toEqual({ id: 'problem-1', status: 'resolved', lastSyncAt: '2026-03-02T12:00:00.000Z', syncClosed: true });
    expect(end.settled).toBe(true);
    expect(end.searchAttributes!.statuses).toEqual(['Met', 'P1:Met']);
  });

  it('adds nothing to the output without --decisions', () => {
    expect(replay(definitions, parseEvents(lines.map((l) => JSON.stringify(l)).join('\n')))[0]).not.toHaveProperty('decisions');
  });
});
