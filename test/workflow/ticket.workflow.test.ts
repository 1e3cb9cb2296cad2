/**
 * ticketWorkflow on Temporal's time-skipping test server, with the real activities: PostgreSQL and
 * the SNOW emulator over HTTP. Hours of ticket time pass in seconds of wall time.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { upsertTicket, queryTicket, type EngineSettings } from '../../src/client/tickets';
import { measurements, tickets } from '../../src/db/schema';
import type { Emulator } from '../../src/emulator/server';
import { ticketWorkflowId } from '../../src/domain/ticket';
import { definitionsChangedSignal, TICKET_RUN_RELEASE, upsertTicketSignal } from '../../src/workflows/messages';
import { applyTestDefinitions, env, freshDatabase, startTestEmulator, startWorkers, testConfig, type RunningWorkers } from '../support/harness';

const HOUR = 3600_000;

const DEFINITIONS = {
  serviceTargets: [
    {
      id: 'P1-resolution',
      appliesTo: 'ticket.priority == 1',
      start: 'ticket.state in ["New", "Assigned", "In Progress", "On Hold"]',
      stop: 'ticket.state in ["Resolved", "Closed"]',
      exclude: 'ticket.state == "On Hold"',
      goal: { duration: '4h' },
      costPerMinute: 2,
    },
  ],
  // Settled tickets wait three days for a reopen (the default is 30).
  engine: { reopenWindow: '3d' },
};

let testEnv: TestWorkflowEnvironment;
let emulator: Emulator;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let workers: RunningWorkers;
const config = testConfig();
const settings: EngineSettings = { ...config, searchAttributes: false };

beforeAll(async () => {
  testEnv = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: env('SLM_TEST_TEST_SERVER') } },
  });
  emulator = await startTestEmulator();
  db = await freshDatabase('workflow');
  await applyTestDefinitions(db, DEFINITIONS);
  workers = await startWorkers({ connection: testEnv.nativeConnection, db, snowUrl: emulator.url, config });
});

afterAll(async () => {
  await workers?.stop();
  await testEnv?.teardown();
  await emulator?.close();
  await db?.close();
});

async function measurement(ticketId: string) {
  const view = await queryTicket(testEnv.client, ticketId);
  const m = view?.measurements.find((x) => x.serviceTargetId === 'P1-resolution');
  if (!m) throw new Error(`no P1-resolution measurement on ${ticketId}`);
  return m;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until the P1-resolution measurement of `ticketId` has `status`; returns it. */
function untilStatus(ticketId: string, status: string) {
  return waitFor(async () => {
    const m = await measurement(ticketId);
    return m.status === status ? m : undefined;
  }, `${ticketId} ${status}`);
}

it('moves a P1 ticket with a 4 h goal and no stop to MissedGoal exactly at the due instant', async () => {
  const wallStart = Date.now();
  await upsertTicket(testEnv.client, settings, { id: 'WF-MISS', priority: 1, state: 'New' });
  const started = await untilStatus('WF-MISS', 'InProcess');
  const due = Date.parse(started.startedAt!) + 4 * HOUR;
  expect(started.dueAt).toBe(new Date(due).toISOString());

  await testEnv.sleep(4 * HOUR - 1000);
  expect((await measurement('WF-MISS')).status).toBe('InProcess');

  await testEnv.sleep(2000);
  const missed = await untilStatus('WF-MISS', 'MissedGoal');
  expect(missed.missedGoalAt).toBe(new Date(due).toISOString());
  expect(missed.dueAt).toBe(new Date(due).toISOString());

  // The row in PostgreSQL says the same.
  const row = await waitFor(async () => {
    const [r] = await db.db.select().from(measurements).where(eq(measurements.subjectId, 'WF-MISS'));
    return r?.status === 'MissedGoal' ? r : undefined;
  }, 'MissedGoal row');
  expect(row.missedGoalAt?.getTime()).toBe(due);
  expect(Date.now() - wallStart).toBeLessThan(30000);
});

it('marks a ticket resolved before the due instant as Met, with elapsed and remaining time', async () => {
  const wallStart = Date.now();
  await upsertTicket(testEnv.client, settings, { id: 'WF-MET', priority: 1, state: 'New' });
  await untilStatus('WF-MET', 'InProcess');
  await testEnv.sleep(HOUR);
  await upsertTicket(testEnv.client, settings, { id: 'WF-MET', priority: 1, state: 'Resolved' });
  const met = await untilStatus('WF-MET', 'Met');
  expect(met.elapsedSeconds).toBeGreaterThanOrEqual(3600);
  expect(met.elapsedSeconds).toBeLessThan(3600 + 60);
  expect(met.metMissedSeconds).toBe(14400 - met.elapsedSeconds);
  expect(met.missedGoalAt).toBeNull();

  // Hours later nothing moves: a final measurement keeps its result.
  await testEnv.sleep(5 * HOUR);
  expect((await measurement('WF-MET')).status).toBe('Met');
  expect(Date.now() - wallStart).toBeLessThan(30000);
});

it('pauses the clock while the ticket is On Hold and moves the due instant by the pause', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-HOLD', priority: 1, state: 'New' });
  const first = await untilStatus('WF-HOLD', 'InProcess');
  await testEnv.sleep(HOUR);
  await upsertTicket(testEnv.client, settings, { id: 'WF-HOLD', priority: 1, state: 'On Hold' });
  const paused = await untilStatus('WF-HOLD', 'Pending');
  expect(paused.dueAt).toBeNull();
  await testEnv.sleep(2 * HOUR);
  await upsertTicket(testEnv.client, settings, { id: 'WF-HOLD', priority: 1, state: 'In Progress' });
  const resumed = await untilStatus('WF-HOLD', 'InProcess');
  const shift = Date.parse(resumed.dueAt!) - Date.parse(first.dueAt!);
  expect(Math.abs(shift - 2 * HOUR)).toBeLessThan(60_000);
  expect(resumed.pausedSeconds).toBeGreaterThanOrEqual(2 * 3600 - 60);
});

it('drops a malformed ticket update without poisoning the workflow', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-BAD', priority: 1, state: 'New' });
  await untilStatus('WF-BAD', 'InProcess');
  const handle = testEnv.client.workflow.getHandle(ticketWorkflowId('WF-BAD'));
  let deep: Record<string, unknown> = { urgent: true };
  for (let i = 0; i < 40; i++) deep = { a: deep };
  await handle.signal(upsertTicketSignal, { id: 'WF-BAD', priority: 1, deep } as never);
  const view = await waitFor(async () => {
    const v = await queryTicket(testEnv.client, 'WF-BAD');
    return v && v.rejectedUpdates.length > 0 ? v : undefined;
  }, 'rejection');
  expect(view.rejectedUpdates[0]).toMatch(/deep(\.a)+: nested more than 32 levels deep/);
  expect(view.rejectedChanges[0]!.reason).toBe(view.rejectedUpdates[0]);
  expect(view.ticket?.priority).toBe(1);
  // The workflow still takes good updates.
  await upsertTicket(testEnv.client, settings, { id: 'WF-BAD', priority: 1, state: 'Closed' });
  await untilStatus('WF-BAD', 'Met');
});

it('ignores a snapshot older than the one applied (updatedAt), recording it as stale, whoever sent it', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-ORDER', priority: 1, state: 'On Hold', updatedAt: '2026-11-30T10:05:00+01:00' });
  await untilStatus('WF-ORDER', 'Pending');
  // Delivered late: older than the one applied (09:05Z), so it must not resume the clock.
  await upsertTicket(testEnv.client, settings, { id: 'WF-ORDER', priority: 1, state: 'New', updatedAt: '2026-11-30T09:00:00Z' });
  const view = await waitFor(async () => {
    const v = await queryTicket(testEnv.client, 'WF-ORDER');
    return v && v.rejectedChanges.length > 0 ? v : undefined;
  }, 'stale recorded');
  expect(view.rejectedChanges[0]!.reason).toBe('stale: updatedAt "2026-11-30T09:00:00Z" is older than "2026-11-30T10:05:00+01:00" already applied; ignored');
  expect(view.ticket?.state).toBe('On Hold');
  expect((await measurement('WF-ORDER')).status).toBe('Pending');
  // A newer one (or one without updatedAt) is applied.
  await upsertTicket(testEnv.client, settings, { id: 'WF-ORDER', priority: 1, state: 'Resolved', updatedAt: '2026-11-30T09:10:00Z' });
  await untilStatus('WF-ORDER', 'Met');
});

it('completes after the reopen window once settled, and a later change resumes from the database', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-REOPEN', priority: 1, state: 'New' });
  await untilStatus('WF-REOPEN', 'InProcess');
  await testEnv.sleep(HOUR);
  await upsertTicket(testEnv.client, settings, { id: 'WF-REOPEN', priority: 1, state: 'Resolved' });
  const met = await waitFor(async () => {
    const v = await queryTicket(testEnv.client, 'WF-REOPEN');
    const m = v?.measurements[0];
    return m?.status === 'Met' && v?.serviceProblem?.status === 'resolved' ? m : undefined;
  }, 'Met with the problem resolved');

  const handle = testEnv.client.workflow.getHandle(ticketWorkflowId('WF-REOPEN'));
  await testEnv.sleep(2 * 86400 * 1000);
  expect((await handle.describe()).status.name).toBe('RUNNING');
  await testEnv.sleep(86400 * 1000 + 1000);
  await waitFor(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 'completion');

  // A reopen after completion starts a new run that picks the ticket up from PostgreSQL: back to
  // InProcess with its elapsed time, the closed gap counted as excluded (seed p. 30).
  await upsertTicket(testEnv.client, settings, { id: 'WF-REOPEN', priority: 1, state: 'In Progress' });
  const resumed = await waitFor(async () => {
    const v = await queryTicket(testEnv.client, 'WF-REOPEN');
    return v?.ticket?.state === 'In Progress' ? v : undefined;
  }, 'new run');
  const reopened = resumed.measurements[0]!;
  expect(reopened).toMatchObject({ status: 'InProcess', stoppedAt: null, elapsedSeconds: met.elapsedSeconds, startedAt: met.startedAt });
  const gap = reopened.segments.find((s) => s.note?.startsWith('reopened'))!;
  expect(gap).toMatchObject({ status: 'Met', start: met.stoppedAt, counts: 'paused' });
  expect(gap.businessSeconds).toBeGreaterThanOrEqual(3 * 86400);
  expect(reopened.pausedSeconds).toBe(gap.businessSeconds);
  // Due again: the remaining goal from the reopen instant (views show whole seconds, hence the tolerance).
  expect(Math.abs(Date.parse(reopened.dueAt!) - (Date.parse(gap.stop!) + (reopened.goalSeconds - reopened.elapsedSeconds) * 1000))).toBeLessThan(1000);
  expect(resumed.serviceProblem?.id).toBeDefined();
  const problems = [...emulator.problems.values()].filter((p) => p.correlationId === 'ticket:WF-REOPEN');
  expect(problems).toHaveLength(1);
});

it('takes a changed reopen window from the definitions while a settled ticket waits it out', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-WINDOW', priority: 1, state: 'New' });
  await untilStatus('WF-WINDOW', 'InProcess');
  await upsertTicket(testEnv.client, settings, { id: 'WF-WINDOW', priority: 1, state: 'Closed' });
  await waitFor(async () => {
    const v = await queryTicket(testEnv.client, 'WF-WINDOW');
    return v?.measurements[0]?.status === 'Met' && v.serviceProblem?.status === 'resolved' ? true : undefined;
  }, 'settled');
  const handle = testEnv.client.workflow.getHandle(ticketWorkflowId('WF-WINDOW'));
  await applyTestDefinitions(db, { ...DEFINITIONS, engine: { reopenWindow: '1d' } });
  try {
    await handle.signal(definitionsChangedSignal, 'reopen window 1d');
    // One day and a second later: done, two days before the three-day window would have ended.
    await testEnv.sleep(86400 * 1000 + 1000);
    await waitFor(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 'completion');
  } finally {
    await applyTestDefinitions(db, DEFINITIONS);
  }
});

it('times its SNOW calls by the worker’s SNOW_HTTP_TIMEOUT, not by anything the caller sent', async () => {
  await upsertTicket(testEnv.client, settings, { id: 'WF-TIMEOUT', priority: 1, state: 'New' });
  const handle = testEnv.client.workflow.getHandle(ticketWorkflowId('WF-TIMEOUT'));
  const scheduled = await waitFor(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    return events.map((e) => e.activityTaskScheduledEventAttributes).find((a) => a?.activityType?.name === 'createServiceProblem') ?? undefined;
  }, 'the problem created');
  const started = (await handle.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
  const input = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString('utf8')) as Record<string, unknown>;
  expect(input).toMatchObject({ ticketId: 'WF-TIMEOUT', release: TICKET_RUN_RELEASE });
  for (const frozen of ['tmfTimeoutSeconds', 'activeStates', 'reopenWindowSeconds', 'eventField']) expect(input).not.toHaveProperty(frozen);
  // Twice the worker's per-request timeout plus 10 s (a look-up, then the call).
  expect(Number(scheduled.startToCloseTimeout!.seconds)).toBe(2 * config.SNOW_HTTP_TIMEOUT + 10);
  // A refused call is tried again within a minute (the seed's 60 s cycle), never five.
  expect(Number(scheduled.retryPolicy!.maximumInterval!.seconds)).toBe(60);
});

it('keeps a ticket’s tasks for the worker that holds it in memory for SLM_STICKY_TIMEOUT (60 s by default, not the SDK’s 10 s)', () => {
  expect(config.SLM_STICKY_TIMEOUT).toBe(60);
  expect(workers.slm.options.stickyQueueScheduleToStartTimeoutMs).toBe(config.SLM_STICKY_TIMEOUT * 1000);
});

it('creates service problems for the active states the definitions name', async () => {
  await applyTestDefinitions(db, { ...DEFINITIONS, connector: { activeStates: ['Assigned'] } });
  try {
    await upsertTicket(testEnv.client, settings, { id: 'WF-ACTIVE', priority: 1, state: 'New' });
    // Saved (the SNOW cycle runs before the save): New is not active here, so no problem.
    await waitFor(async () => ((await db.db.select().from(tickets).where(eq(tickets.ticketId, 'WF-ACTIVE'))).length ? true : undefined), 'the ticket saved');
    expect([...emulator.problems.values()].filter((p) => p.correlationId === 'ticket:WF-ACTIVE')).toHaveLength(0);
    await upsertTicket(testEnv.client, settings, { id: 'WF-ACTIVE', priority: 1, state: 'Assigned' });
    await waitFor(async () => ((await queryTicket(testEnv.client, 'WF-ACTIVE'))?.serviceProblem ? true : undefined), 'the problem for Assigned');
    expect([...emulator.problems.values()].filter((p) => p.correlationId === 'ticket:WF-ACTIVE')).toHaveLength(1);
  } finally {
    await applyTestDefinitions(db, DEFINITIONS);
  }
});
