/**
 * Milestones, actions and business calendars in the ticket workflow, on the time-skipping server with
 * real activities: PostgreSQL, the SNOW emulator, a webhook receiver and an SMTP catcher on loopback.
 * Business days of ticket time pass in seconds; the live result is then replayed offline from the
 * workflow's own history and must match field by field.
 */
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { exportTicketHistory } from '../../src/client/history';
import { queryTicket, upsertTicket, type EngineSettings } from '../../src/client/tickets';
import { createActionActivities, signatureOf } from '../../src/activities/actions';
import { listFirings, listSegments } from '../../src/db/queries';
import { BusinessCalendar } from '../../src/domain/calendar';
import type { MeasurementView } from '../../src/domain/request/measurement';
import { parseEvents, replay } from '../../src/domain/replay';
import type { Emulator } from '../../src/emulator/server';
import { startSmtpCatcher, startWebhookReceiver } from '../support/catchers';
import { applyTestDefinitions, env, eventually, freshDatabase, startTestEmulator, startWorkers, testConfig, type RunningWorkers } from '../support/harness';

const H = 3600;
const SECRET = 'milestone-webhook-key-0123456789';
const office = {
  id: 'office',
  timezone: 'Europe/Berlin',
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '17:00']]])),
};
const stateConditions = {
  start: 'ticket.state in ["New", "Assigned", "In Progress", "On Hold"]',
  stop: 'ticket.state in ["Resolved", "Closed"]',
  exclude: 'ticket.state == "On Hold"',
};

let testEnv: TestWorkflowEnvironment;
let emulator: Emulator;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let workers: RunningWorkers;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtpCatcher>>;
let settings: EngineSettings;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  smtp = await startSmtpCatcher();
  const config = testConfig({ SLM_WEBHOOK_SECRET: SECRET, SLM_SMTP_URL: smtp.url, SLM_SOURCE_WEBHOOK: `${receiver.url}/source` });
  settings = { ...config, searchAttributes: false };
  testEnv = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: env('SLM_TEST_TEST_SERVER') } },
  });
  emulator = await startTestEmulator();
  db = await freshDatabase('milestones');
  await applyTestDefinitions(db, {
    calendars: [office, { ...office, id: 'office-holidays', holidays: ['2026-12-24', '2026-12-25', '2026-12-31', '2027-01-01'] }],
    serviceTargets: [
      {
        id: 'RES',
        appliesTo: 'ticket.priority == 1',
        ...stateConditions,
        goal: { duration: '16h' },
        calendar: 'office',
        milestones: [
          { name: 'warn-50', at: { percentOfGoal: 50 }, actions: [{ notify: { webhook: `${receiver.url}/hook`, email: 'ops@example.test' } }] },
          { name: 'breach-1h', at: { afterDue: '1h' }, actions: [{ setField: { escalated: true } }, { raiseAlarm: { perceivedSeverity: 'critical' } }] },
          { name: 'closed', at: { on: 'stop' }, actions: [{ startWorkflow: { workflowType: 'echoWorkflow', input: 'closed' } }] },
        ],
      },
      { id: 'ESC', appliesTo: 'ticket.escalated == true', ...stateConditions, goal: { duration: '1h' } },
      // A group for the long replay scenario.
      {
        id: 'G-HIGH',
        appliesTo: 'ticket.kind == "scenario" && ticket.priority == 1',
        ...stateConditions,
        goal: { duration: '6h' },
        calendar: 'office',
        group: 'g',
        milestones: [
          { name: 'half', at: { percentOfGoal: 50 } },
          { name: 'held', at: { on: 'exclude' } },
        ],
      },
      {
        id: 'G-LOW',
        appliesTo: 'ticket.kind == "scenario" && ticket.priority == 3',
        ...stateConditions,
        goal: { duration: '16h' },
        calendar: 'office',
        group: 'g',
        milestones: [{ name: 'ten', at: { afterStart: '10h' }, repeat: { every: '2h', times: 2 } }],
      },
      // Months of business time: 45 office days, with holidays, measured on recorded calendar windows.
      { id: 'LONG', appliesTo: 'ticket.kind == "project"', ...stateConditions, goal: { duration: '360h' }, calendar: 'office-holidays' },
    ],
  });
  workers = await startWorkers({ connection: testEnv.nativeConnection, db, snowUrl: emulator.url, config });
});

afterAll(async () => {
  await workers?.stop();
  await testEnv?.teardown();
  await emulator?.close();
  await db?.close();
  await receiver?.close();
  await smtp?.close();
});

async function measurementOf(ticketId: string, target: string): Promise<MeasurementView | undefined> {
  return (await queryTicket(testEnv.client, ticketId))?.measurements.find((m) => m.serviceTargetId === target);
}

it('fires milestones at their business-time instants, runs each action once, and replays to the same result', async () => {
  const cal = BusinessCalendar.fromSpec(office);
  await upsertTicket(testEnv.client, settings, { id: 'MS-1', priority: 1, state: 'New' });
  const started = await eventually(() => measurementOf('MS-1', 'RES'), 20000, 'RES attached');
  const start = Date.parse(started.startedAt!);
  expect(started.calendar).toBe('office');
  expect(started.dueAt).toBe(new Date(cal.add(start, 16 * H)).toISOString());

  await testEnv.sleep('12 days');
  const missed = await eventually(
    async () => {
      const m = await measurementOf('MS-1', 'RES');
      return m?.firings.length === 2 && m.firings.every((f) => f.actions.every((a) => a.status !== 'pending')) ? m : undefined;
    },
    30000,
    'two firings done',
  );

  const due = cal.add(start, 16 * H);
  expect(missed).toMatchObject({ status: 'MissedGoal', missedGoalAt: new Date(due).toISOString() });
  // Each milestone fired exactly at its instant in business time: 8 h of 16, and 1 h after the due instant.
  expect(missed.firings.map((f) => [f.milestone, f.firedAt])).toEqual([
    ['warn-50', new Date(cal.add(start, 8 * H)).toISOString()],
    ['breach-1h', new Date(cal.add(start, 17 * H)).toISOString()],
  ]);
  expect(missed.firings.flatMap((f) => f.actions.map((a) => `${a.kind}:${a.status}`))).toEqual(['notify:done', 'setField:done', 'raiseAlarm:done']);

  // The webhook came once, signed with the configured key over the exact body.
  const hooks = receiver.hooks.filter((h) => h.path === '/hook');
  expect(hooks).toHaveLength(1);
  expect(hooks[0]!.headers['x-slm-signature']).toBe(signatureOf(SECRET, hooks[0]!.raw));
  expect(hooks[0]!.headers['idempotency-key']).toBe('MS-1|RES|warn-50|0|0|webhook');
  expect(hooks[0]!.body).toMatchObject({ event: 'milestone', ticketId: 'MS-1', serviceTargetId: 'RES', milestone: 'warn-50', measurement: { status: 'InProcess' } });
  // The e-mail came once through SMTP.
  expect(smtp.mails).toHaveLength(1);
  expect(smtp.mails[0]!.to).toEqual(['ops@example.test']);
  expect(smtp.mails[0]!.data).toMatch(/Subject: \[SLM\] warn-50: RES on ticket MS-1/);
  // setField changed the ticket at the firing instant (ESC attached then) and went back to the source.
  const ticket = (await queryTicket(testEnv.client, 'MS-1'))!.ticket!;
  expect(ticket.escalated).toBe(true);
  const esc = (await measurementOf('MS-1', 'ESC'))!;
  expect(esc.startedAt).toBe(new Date(cal.add(start, 17 * H)).toISOString());
  // The source heard of the service problem when it was created, then of the escalation.
  const toSource = receiver.hooks.filter((h) => h.path === '/source').map((h) => h.body as { ticketId: string; fields: Record<string, unknown> });
  expect(toSource.map((b) => [b.ticketId, Object.keys(b.fields)])).toEqual([
    ['MS-1', ['problemId', 'incidentNumber', 'incidentLink']],
    ['MS-1', ['escalated']],
  ]);
  expect(toSource[0]!.fields.incidentNumber).toMatch(/^PRB/);
  expect(toSource[1]!.fields.escalated).toBe(true);
  // The alarm reached SNOW once, keyed by the firing.
  const alarms = [...emulator.alarms.values()].filter((a) => a.externalAlarmId === 'milestone:MS-1|RES|breach-1h|0|1');
  expect(alarms).toHaveLength(1);
  expect(alarms[0]).toMatchObject({ perceivedSeverity: 'critical', alarmedObjectType: 'Ticket' });

  // Closing stops both clocks; the on-stop milestone starts the configured workflow.
  await upsertTicket(testEnv.client, settings, { id: 'MS-1', priority: 1, state: 'Resolved', escalated: true });
  await eventually(async () => ((await measurementOf('MS-1', 'RES'))?.status === 'Missed' ? true : undefined), 20000, 'RES Missed');
  expect(await testEnv.client.workflow.getHandle('slm-action:MS-1|RES|closed|0|0').result()).toBe('closed');
  const final = await eventually(
    async () => {
      const view = await queryTicket(testEnv.client, 'MS-1');
      return view && view.pendingActions === 0 && view.measurements.every((m) => m.firings.every((f) => f.actions.every((a) => a.status !== 'pending'))) ? view : undefined;
    },
    20000,
    'actions done',
  );

  // Segments and firings are in PostgreSQL too.
  await eventually(async () => ((await listFirings(db.db, 'MS-1')).length === 3 ? true : undefined), 20000, 'firings persisted');
  const segments = await listSegments(db.db, 'MS-1');
  expect(segments.filter((s) => s.serviceTargetId === 'RES').map((s) => s.status)).toEqual(['Attached', 'InProcess', 'MissedGoal', 'Missed']);

  // Offline: the workflow's own history, replayed by `slm replay`'s engine, gives the same measurements.
  const exported = await exportTicketHistory(testEnv.client, 'MS-1');
  expect(exported.events.map((e) => ('ticket' in e ? e.ticket.state : 'definitions'))).toEqual(['New', 'Resolved']);
  const lines = exported.events.map((e) => JSON.stringify(e)).join('\n');
  const [end] = replay(exported.definitions, parseEvents(lines));
  const strip = (m: MeasurementView) => ({ ...m, firings: m.firings.map((f) => ({ ...f, actions: f.actions.map((a) => a.kind) })) });
  expect(end!.measurements.map(strip)).toEqual(final.measurements.map(strip));
});

it('replays a long history offline to exactly the live measurements: pauses, a group move, a reopen, milestones', async () => {
  const id = 'LONG-SCENARIO';
  const steps: [number, Record<string, unknown>][] = [
    [0, { state: 'New', priority: 1 }],
    [3, { state: 'On Hold', priority: 1 }],
    [20, { state: 'In Progress', priority: 1 }],
    [2, { state: 'In Progress', priority: 3 }],
    [26, { state: 'Resolved', priority: 3 }],
    [5, { state: 'In Progress', priority: 3 }],
    [7, { state: 'On Hold', priority: 3 }],
    [30, { state: 'Closed', priority: 3 }],
  ];
  for (const [hours, fields] of steps) {
    if (hours) await testEnv.sleep(hours * 3600_000);
    await upsertTicket(testEnv.client, settings, { id, kind: 'scenario', ...fields });
    await eventually(async () => ((await queryTicket(testEnv.client, id))?.ticket?.state === fields.state ? true : undefined), 20000, String(fields.state));
  }
  const live = await eventually(
    async () => {
      const view = await queryTicket(testEnv.client, id);
      const settled = view && view.pendingActions === 0 && view.measurements.every((m) => ['Met', 'Missed', 'Detached'].includes(m.status));
      return settled ? view : undefined;
    },
    30000,
    'all final',
  );
  const byId = Object.fromEntries(live.measurements.map((m) => [m.serviceTargetId, m]));
  expect(byId['G-HIGH']).toMatchObject({ status: 'Detached', inheritedBy: 'G-LOW' });
  expect(byId['G-LOW']).toMatchObject({ inheritedFrom: 'G-HIGH', startedAt: byId['G-HIGH']!.startedAt });
  expect(byId['G-LOW']!.segments.some((s) => s.note?.startsWith('reopened'))).toBe(true);
  expect(byId['G-HIGH']!.firings.map((f) => f.milestone)).toContain('held');

  const exported = await exportTicketHistory(testEnv.client, id);
  expect(exported.events).toHaveLength(steps.length);
  const [end] = replay(exported.definitions, parseEvents(exported.events.map((e) => JSON.stringify(e)).join('\n')));
  const strip = (m: MeasurementView) => ({ ...m, firings: m.firings.map((f) => ({ ...f, actions: f.actions.map((a) => a.kind) })) });
  expect(end!.measurements.map(strip)).toEqual(live.measurements.map(strip));
});

it('runs months of business time through widened calendar windows, to the exact due instant', async () => {
  const cal = BusinessCalendar.fromSpec({ ...office, id: 'office-holidays', holidays: ['2026-12-24', '2026-12-25', '2026-12-31', '2027-01-01'] });
  await upsertTicket(testEnv.client, settings, { id: 'LONG-1', kind: 'project', state: 'New' });
  const started = await eventually(() => measurementOf('LONG-1', 'LONG'), 20000, 'LONG attached');
  const due = cal.add(Date.parse(started.startedAt!), 360 * H);
  expect(started.dueAt).toBe(new Date(due).toISOString());
  expect(due - Date.parse(started.startedAt!)).toBeGreaterThan(60 * 86400 * 1000); // beyond one recorded window
  await testEnv.sleep('75 days');
  const missed = await eventually(
    async () => {
      const m = await measurementOf('LONG-1', 'LONG');
      return m?.status === 'MissedGoal' ? m : undefined;
    },
    30000,
    'LONG missed',
  );
  expect(missed.missedGoalAt).toBe(new Date(due).toISOString());
  expect(missed.elapsedSeconds).toBeGreaterThanOrEqual(360 * H);
});

it('never carries out the same action twice: a retried activity finds its key in the action log', async () => {
  const acts = createActionActivities({
    db: db.db,
    settings: { webhookSecret: SECRET, smtpUrl: null, smtpFrom: 'x <x@y>', sourceWebhook: null, timeoutMs: 5000 },
  });
  const before = receiver.hooks.length;
  const req = { key: 'DUP|T|m|0|0|webhook', url: `${receiver.url}/dup`, payload: { n: 1 } };
  expect(await acts.notifyWebhook(req)).toBe('HTTP 200');
  expect(await acts.notifyWebhook(req)).toBe('HTTP 200');
  expect(receiver.hooks.length - before).toBe(1);
  // A receiver that refuses the notification is a final failure, not a retry storm.
  receiver.respondWith(422);
  const refused = await acts.notifyWebhook({ ...req, key: 'DUP|T|m|1|0|webhook' }).then(
    () => null,
    (err: ApplicationFailure) => err,
  );
  expect(refused).toBeInstanceOf(ApplicationFailure);
  expect(refused!.nonRetryable).toBe(true);
  expect(refused!.message).toMatch(/HTTP 422/);
  receiver.respondWith(200);
  // E-mail without SMTP configured is a clear, final error.
  await expect(acts.notifyEmail({ key: 'k', to: ['a@b.c'], subject: 's', text: 't' })).rejects.toThrow('e-mail notification needs SLM_SMTP_URL');
});
