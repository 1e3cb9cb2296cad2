/**
 * SNOW out of reach holds back only SNOW. With no tmf worker at all (every SNOW call waits in its
 * task queue), a ticket's goal is missed on time and saved, a later change is applied and saved at
 * once; once a tmf worker comes, the service problem is created once and carries the ticket's latest
 * state. (Before release 5 the run waited for SNOW before each save and each timer: an outage held
 * the ticket's rows, its due instants and milestones until SNOW answered.)
 */
import { eq } from 'drizzle-orm';
import { upsertTicket } from '../../src/client/tickets';
import { measurements, tickets } from '../../src/db/schema';
import { createTmfWorker } from '../../src/workers/tmfWorker';
import { tmfClientFromConfig } from '../../src/workers/wiring';
import { eventually, NativeConnection, startSlmOnlyStack, testConfig, type SlmOnlyStack } from '../support/harness';

const config = testConfig();
let stack: SlmOnlyStack;

beforeAll(async () => {
  stack = await startSlmOnlyStack({
    label: 'snowoutage',
    config,
    definitions: { serviceTargets: [{ id: 'quick', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Resolved"', goal: { duration: '3s' } }] },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const measurementOf = async (ticketId: string) => (await stack.db.db.select().from(measurements).where(eq(measurements.subjectId, ticketId)))[0];
const rowOf = async (ticketId: string) => (await stack.db.db.select().from(tickets).where(eq(tickets.ticketId, ticketId)))[0];

it('misses a goal on time, and saves it and later changes, while no tmf worker serves SNOW; the problem comes once SNOW is served', async () => {
  const sentAt = Date.now();
  await upsertTicket(stack.client, config, { id: 'OUT-1', priority: 1, state: 'New', summary: 'printer on fire' });

  // The goal (3 s) is missed on time and saved, not when SNOW comes back.
  const missed = await eventually(
    async () => {
      const m = await measurementOf('OUT-1');
      return m?.status === 'MissedGoal' ? m : undefined;
    },
    15000,
    'MissedGoal saved while SNOW is out of reach',
  );
  expect(missed.missedGoalAt!.getTime() - missed.startedAt!.getTime()).toBe(3000);
  expect(Date.now() - sentAt).toBeLessThan(10000);
  expect((await rowOf('OUT-1'))?.problemId).toBeNull();

  // A change while the creation still waits is applied and saved.
  await upsertTicket(stack.client, config, { id: 'OUT-1', priority: 1, state: 'Resolved', summary: 'printer on fire' });
  await eventually(async () => ((await measurementOf('OUT-1'))?.status === 'Missed' ? true : undefined), 10000, 'the resolution measured and saved');
  expect((await rowOf('OUT-1'))?.state).toBe('Resolved');
  expect(stack.emulator.requests.filter((r) => r.method === 'POST')).toHaveLength(0);

  // SNOW served again: one problem, carrying the ticket as it is now, and its id on the row.
  const native = await NativeConnection.connect({ address: stack.dev.address });
  const http = tmfClientFromConfig(config, stack.emulator.url);
  const tmf = await createTmfWorker({ connection: native, namespace: 'default', taskQueue: config.TMF_TASK_QUEUE, http, maxConcurrent: config.TMF_MAX_CONCURRENT });
  const running = tmf.run();
  try {
    const row = await eventually(
      async () => {
        const r = await rowOf('OUT-1');
        return r?.problemId && r.problemStatus === 'resolved' ? r : undefined;
      },
      20000,
      'the problem created and resolved in SNOW, and saved',
    );
    const posts = stack.emulator.requests.filter((r) => r.method === 'POST' && (r.body as { correlationId?: string }).correlationId === 'ticket:OUT-1');
    expect(posts).toHaveLength(1);
    expect(stack.emulator.problems.get(row.problemId!)?.status).toBe('resolved');
  } finally {
    tmf.shutdown();
    await running;
    await http.close();
    await native.close();
  }
}, 60000);
