/**
 * Durability: the dev server and the workers stop while a ticket's due-date timer is pending, start
 * again on the same SQLite file, and the timer still fires — with nothing created twice.
 */
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { upsertTicket, queryTicket } from '../../src/client/tickets';
import { measurements } from '../../src/db/schema';
import type { Emulator } from '../../src/emulator/server';
import { startDevServer, type DevServer } from '../../src/infra/devServer';
import { freePort } from '../../src/infra/process';
import { Client, Connection } from '@temporalio/client';
import { applyTestDefinitions, env, eventually, freshDatabase, NativeConnection, startTestEmulator, startWorkers, testConfig } from '../support/harness';

let emulator: Emulator;
let db: Awaited<ReturnType<typeof freshDatabase>>;
const config = testConfig();

beforeAll(async () => {
  emulator = await startTestEmulator();
  db = await freshDatabase('restart');
  await applyTestDefinitions(db, {
    serviceTargets: [{ id: 'short-goal', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Resolved"', goal: { duration: '12s' } }],
  });
});

afterAll(async () => {
  await emulator?.close();
  await db?.close();
});

async function startAll(dbFile: string, port: number) {
  const dev: DevServer = await startDevServer({ cli: env('SLM_TEST_TEMPORAL_CLI'), dbFile, port });
  const native = await NativeConnection.connect({ address: dev.address });
  const workers = await startWorkers({ connection: native, db, snowUrl: emulator.url, config });
  const connection = await Connection.connect({ address: dev.address });
  const client = new Client({ connection });
  return {
    client,
    stop: async () => {
      await workers.stop();
      await native.close();
      await connection.close();
      await dev.stop();
    },
  };
}

it('fires a pending due-date timer after the server and workers restart, without duplicates', async () => {
  const dbFile = path.join(env('SLM_TEST_DIR'), `restart-${process.pid}.sqlite`);
  const port = await freePort();

  const first = await startAll(dbFile, port);
  await upsertTicket(first.client, config, { id: 'RS-1', priority: 1, state: 'New' });
  const started = await eventually(
    async () => {
      const v = await queryTicket(first.client, 'RS-1');
      return v?.serviceProblem && v.measurements[0]?.status === 'InProcess' ? v : undefined;
    },
    20000,
    'InProcess with a problem',
  );
  const due = Date.parse(started.measurements[0]!.dueAt!);
  await first.stop();
  expect(Date.now()).toBeLessThan(due); // the timer is still pending while everything is down

  // Stay down past the due instant, then come back on the same SQLite file.
  await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 1000));
  const second = await startAll(dbFile, port);
  try {
    const missed = await eventually(
      async () => {
        const v = await queryTicket(second.client, 'RS-1');
        return v?.measurements[0]?.status === 'MissedGoal' ? v.measurements[0] : undefined;
      },
      30000,
      'MissedGoal after restart',
    );
    expect(missed.missedGoalAt).toBe(new Date(due).toISOString());

    // The row follows once the workflow's persist activity has run.
    const row = await eventually(
      async () => {
        const [r] = await db.db.select().from(measurements).where(eq(measurements.subjectId, 'RS-1'));
        return r?.status === 'MissedGoal' ? r : undefined;
      },
      20000,
      'MissedGoal row',
    );
    expect(row.missedGoalAt?.getTime()).toBe(due);

    const runs = [];
    for await (const w of second.client.workflow.list({ query: `WorkflowId = 'ticket:RS-1'` })) runs.push(w);
    expect(runs).toHaveLength(1);
    const created = emulator.requests.filter((r) => r.method === 'POST' && (r.body as { correlationId?: string }).correlationId === 'ticket:RS-1');
    expect(created).toHaveLength(1);
    expect([...emulator.problems.values()].filter((p) => p.correlationId === 'ticket:RS-1')).toHaveLength(1);
  } finally {
    await second.stop();
  }
});
