/**
 * The API's outbox on real PostgreSQL: changes answered 202 wait there until their workflows have
 * them. Two forwarders side by side hand each ticket its changes in the order they were queued;
 * while Temporal refuses, nothing is lost and everything goes out once it answers; stale versions are
 * left out in the same transaction. The Temporal side is a recorder passed as the client (the
 * routes against a real server are in api.test.ts).
 */
import type { Client } from '@temporalio/client';
import { startForwarder } from '../../src/api/forwarder';
import type { AppPorts } from '../../src/app/ports';
import { enqueueChanges, outboxBacklog } from '../../src/db/queries';
import { eventually, freshDatabase } from '../support/harness';

type Db = Awaited<ReturnType<typeof freshDatabase>>;

/** A stand-in for Temporal that records what each ticket received, and refuses while `down`. */
function recorder() {
  const received = new Map<string, unknown[]>();
  const state = { down: false, calls: 0 };
  const take = async (workflowId: string, change: unknown) => {
    state.calls++;
    // Out of order if a later call overtook an earlier one for the same ticket: keep both orders visible.
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    if (state.down) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
    received.set(workflowId, [...(received.get(workflowId) ?? []), change]);
  };
  const client = {
    workflow: {
      signalWithStart: async (_type: string, o: { workflowId: string; signalArgs: unknown[] }) => take(o.workflowId, o.signalArgs[0]),
      startUpdateWithStart: async (_u: unknown, o: { args: unknown[]; startWorkflowOperation: { options: { workflowId: string } } }) =>
        take(o.startWorkflowOperation.options.workflowId, o.args[0]),
    },
  } as unknown as Client;
  return { client, received, state };
}

let db: Db;
beforeAll(async () => {
  db = await freshDatabase('outbox');
});
afterAll(async () => {
  await db?.close();
});

const ports = (client: Client): AppPorts => ({ temporal: async () => client, db: async () => db.db, settings: { SLM_TASK_QUEUE: 'slm', TMF_TASK_QUEUE: 'tmf' } });
const quiet = () => undefined;

it('two forwarders hand every ticket its changes once each, in the order queued', async () => {
  const { client, received } = recorder();
  const changes = [];
  for (let step = 1; step <= 30; step++) {
    for (const id of ['OB-A', 'OB-B', 'OB-C']) changes.push({ ticketId: id, kind: 'snapshot' as const, body: { id, step }, version: null });
  }
  changes.push({ ticketId: 'OB-A', kind: 'patch' as const, body: { note: 'last' }, version: null });
  // Queued in several transactions, as several requests would.
  for (let i = 0; i < changes.length; i += 10) await enqueueChanges(db.db, changes.slice(i, i + 10));
  const one = startForwarder({ ports: ports(client), log: quiet, batch: 7, concurrency: 4 });
  const two = startForwarder({ ports: ports(client), log: quiet, batch: 5, concurrency: 4 });
  await eventually(async () => ((await outboxBacklog(db.db)) === 0 ? true : undefined), 30000);
  await Promise.all([one.stop(), two.stop()]);
  for (const id of ['OB-B', 'OB-C']) expect(received.get(`ticket:${id}`)).toEqual(Array.from({ length: 30 }, (_, i) => ({ id, step: i + 1 })));
  expect(received.get('ticket:OB-A')).toEqual([...Array.from({ length: 30 }, (_, i) => ({ id: 'OB-A', step: i + 1 })), { note: 'last' }]);
});

it('keeps changes while Temporal refuses them, and sends them all once it answers', async () => {
  const { client, received, state } = recorder();
  state.down = true;
  const f = startForwarder({ ports: ports(client), log: quiet, batch: 10 });
  await enqueueChanges(
    db.db,
    Array.from({ length: 12 }, (_, i) => ({ ticketId: `OB-D${i % 3}`, kind: 'snapshot' as const, body: { id: `OB-D${i % 3}`, n: i }, version: null })),
  );
  f.kick();
  await eventually(async () => (state.calls >= 3 ? true : undefined));
  expect(await outboxBacklog(db.db)).toBe(12);
  expect(received.size).toBe(0);
  state.down = false;
  f.kick();
  await eventually(async () => ((await outboxBacklog(db.db)) === 0 ? true : undefined), 30000);
  await f.stop();
  expect(received.get('ticket:OB-D0')).toEqual([0, 3, 6, 9].map((n) => ({ id: 'OB-D0', n })));
  expect([...received.values()].flat()).toHaveLength(12);
});

it('leaves out a change older than the newest taken in for its ticket, in the same transaction', async () => {
  const v = (iso: string) => ({ kind: 'instant', value: Date.parse(iso), raw: iso });
  const first = await enqueueChanges(db.db, [
    { ticketId: 'OB-V', kind: 'snapshot', body: { id: 'OB-V', s: 2 }, version: v('2026-11-30T10:05:00Z') },
    { ticketId: 'OB-V', kind: 'snapshot', body: { id: 'OB-V', s: 1 }, version: v('2026-11-30T10:00:00Z') },
  ]);
  expect(first.stale).toEqual([{ ticketId: 'OB-V', applied: '2026-11-30T10:05:00Z', index: 1 }]);
  expect(await outboxBacklog(db.db, 'OB-V')).toBe(1);
});

it('admits changes up to the bound, counting what this process let in since the last count', async () => {
  const { client } = recorder();
  const f = startForwarder({ ports: ports(client), log: quiet });
  await f.stop(); // counting only: nothing is forwarded
  const before = await outboxBacklog(db.db);
  const results = await Promise.all([f.admit(40, before + 50), f.admit(40, before + 50), f.admit(5, before + 50)]);
  expect(results).toEqual([true, false, true]);
});
