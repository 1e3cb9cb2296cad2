/**
 * The connector's configurable rules on the dev server: mapping, write-back of the problem's id,
 * incident number and link to the ticket's source, closure with a resolution note after which the
 * ticket is no longer synced, reactions to SNOW-side changes, and an authentication failure that
 * costs one request per change, never a retry storm.
 */
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { queryTicket, upsertTicketChecked, type EngineSettings } from '../../src/client/tickets';
import { tickets } from '../../src/db/schema';
import { ticketWorkflowId } from '../../src/domain/ticket';
import type { Emulator } from '../../src/emulator/server';
import { remoteProblemChangedSignal } from '../../src/workflows/messages';
import { startWebhookReceiver } from '../support/catchers';
import { eventually, startDevStack, startWorkers, testConfig, type DevStack, type RunningWorkers } from '../support/harness';

let stack: DevStack;
let emulator: Emulator;
let db: DevStack['db'];
let client: Client;
let badWorkers: RunningWorkers;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let settings: EngineSettings;
let badSettings: EngineSettings;
let maxConcurrent: number;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  const config = testConfig({ SLM_SOURCE_WEBHOOK: `${receiver.url}/source` });
  settings = config;
  maxConcurrent = config.TMF_MAX_CONCURRENT;
  stack = await startDevStack({
    label: 'connector',
    config,
    definitions: {
      serviceTargets: [],
      connector: {
        mapping: { category: '"svc-" + ticket.service', characteristics: ['site'] },
        onRemoteChange: [{ when: 'problem.status == "resolved"', setField: { closureRequested: true } }],
      },
    },
  });
  ({ emulator, db, client } = stack);
  // A second pair of workers whose SNOW password is wrong, on their own task queues.
  const bad = testConfig({ SNOW_PASSWORD: 'not-the-password', SLM_TASK_QUEUE: 'slm-badauth', TMF_TASK_QUEUE: 'tmf-badauth' });
  badSettings = bad;
  badWorkers = await startWorkers({ connection: stack.native, db, snowUrl: emulator.url, config: bad });
});

afterAll(async () => {
  await badWorkers?.stop();
  await stack?.stop();
  await receiver?.close();
});

const problemIdOf = (ticketId: string) => [...emulator.problems.values()].find((p) => p.correlationId === `ticket:${ticketId}`)?.id as string | undefined;

it('maps fields by the configured CEL, writes the problem back to the source, closes with a note and stops syncing', async () => {
  await upsertTicketChecked(client, settings, { id: 'CX-1', state: 'New', priority: 2, service: 'voice', site: 'LUX-1', other: 'x' });
  const problem = await eventually(async () => [...emulator.problems.values()].find((p) => p.correlationId === 'ticket:CX-1'), 20000, 'problem');
  expect(problem).toMatchObject({ category: 'svc-voice', characteristic: [{ name: 'site', value: 'LUX-1' }] });

  const hook = await eventually(async () => receiver.hooks.find((h) => (h.body as { ticketId: string }).ticketId === 'CX-1'), 20000, 'write-back');
  expect(hook.body).toEqual({ ticketId: 'CX-1', fields: { problemId: problem.id, incidentNumber: problem.number, incidentLink: problem.link } });

  await upsertTicketChecked(client, settings, { id: 'CX-1', state: 'In Progress', priority: 2, service: 'voice', site: 'LUX-1', restoredBy: 'ses_group' });
  const closed = await eventually(
    async () => {
      const p = emulator.problems.get(problem.id as string);
      return p?.status === 'resolved' ? p : undefined;
    },
    20000,
    'resolved',
  );
  expect(closed.statusChangeReason).toBe('Restored by ses_group (ticket CX-1)');
  expect(closed.note).toEqual([expect.objectContaining({ text: 'Restored by ses_group (ticket CX-1)', author: 'temporal-slm' })]);
  await eventually(async () => ((await db.db.select().from(tickets).where(eq(tickets.ticketId, 'CX-1')))[0]?.syncClosed ? true : undefined), 20000, 'sync closed');

  // Afterwards the ticket is no longer synced: later changes send nothing.
  const before = emulator.requests.length;
  await upsertTicketChecked(client, settings, { id: 'CX-1', state: 'In Progress', priority: 1, service: 'data', site: 'LUX-2', restoredBy: 'ses_group' });
  await new Promise((r) => setTimeout(r, 1500));
  expect(emulator.requests.slice(before).filter((r) => r.path.includes(problem.id as string) || (r.body as { correlationId?: string })?.correlationId === 'ticket:CX-1')).toEqual(
    [],
  );
});

it('reacts to a SNOW-side resolution with the configured fields, written back to the source too', async () => {
  await upsertTicketChecked(client, settings, { id: 'CX-2', state: 'New', priority: 2, service: 'voice' });
  const id = await eventually(async () => problemIdOf('CX-2'), 20000, 'problem');
  await client.workflow
    .getHandle(ticketWorkflowId('CX-2'))
    .signal(remoteProblemChangedSignal, { problemId: id, status: 'resolved', incidentNumber: null, link: null, updatedOn: '2026-03-02 10:00:00' });
  const view = await eventually(
    async () => {
      const v = await queryTicket(client, 'CX-2');
      return v?.ticket?.closureRequested === true ? v : undefined;
    },
    20000,
    'closureRequested',
  );
  expect(view.serviceProblem?.status).toBe('resolved');
  await eventually(
    async () => receiver.hooks.find((h) => JSON.stringify(h.body) === JSON.stringify({ ticketId: 'CX-2', fields: { closureRequested: true } })),
    20000,
    'reaction written back',
  );
});

it('fails authentication once per change with a clear error on the ticket and in the table, never a retry storm', async () => {
  await upsertTicketChecked(client, badSettings, { id: 'AUTH-1', state: 'New', priority: 2, service: 'voice' });
  const view = await eventually(
    async () => {
      const v = await queryTicket(client, 'AUTH-1');
      return v?.serviceProblem === null && v.rejectedUpdates.length === 0 && (await lastErrorOf('AUTH-1')) ? v : undefined;
    },
    20000,
    'error recorded',
  );
  expect(view.serviceProblem).toBeNull();
  expect(await lastErrorOf('AUTH-1')).toMatch(/^POST .*serviceProblem answered 401 \(Unauthorized: valid Basic credentials are required\)$/);
  await new Promise((r) => setTimeout(r, 3000));
  const attempts = () => emulator.requests.filter((r) => r.status === 401 && (r.body as { correlationId?: string } | null)?.correlationId === 'ticket:AUTH-1');
  expect(attempts()).toHaveLength(1);
  // The next change tries once more, and only once.
  await upsertTicketChecked(client, badSettings, { id: 'AUTH-1', state: 'In Progress', priority: 2, service: 'voice' });
  await new Promise((r) => setTimeout(r, 3000));
  expect(attempts()).toHaveLength(2);
  expect(JSON.stringify(emulator.requests)).not.toContain('not-the-password');
});

async function lastErrorOf(ticketId: string): Promise<string | null | undefined> {
  return (await db.db.select().from(tickets).where(eq(tickets.ticketId, ticketId)))[0]?.lastError;
}

it('sends SNOW at most TMF_MAX_CONCURRENT requests at once, however many creations wait', async () => {
  // The tmf worker runs more activities than it has connections; the HTTP client queues the rest.
  emulator.faults.latencyMs = 300;
  emulator.concurrency.peak = 0;
  try {
    const ids = Array.from({ length: 30 }, (_, i) => `CONC-${i}`);
    await Promise.all(ids.map((id) => upsertTicketChecked(client, settings, { id, state: 'New', priority: 3, service: 'data' })));
    await eventually(async () => (ids.every((id) => problemIdOf(id)) ? true : undefined), 60000, 'all problems created');
    expect(emulator.concurrency.peak).toBe(maxConcurrent);
  } finally {
    emulator.faults.latencyMs = 0;
  }
});
