/**
 * `npm run bench -- e2e [--tickets 500] [--rounds 3]`
 *
 * N tickets upserted concurrently through the whole skeleton — workflow started, service problem
 * created in the emulator over HTTP, ticket resolved, problem PATCHed to resolved — and, on the same
 * server and workers in the same run, N trivial workflows. Prints tickets/s, trivial workflows/s and
 * their ratio per round, then the medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { upsertTicket } from '../../src/client/tickets';
import { loadConfig } from '../../src/config';
import { migrateDb, openDb } from '../../src/db/client';
import { applyDefinitions } from '../../src/db/queries';
import { startEmulator } from '../../src/emulator/server';
import { readDefinitionsFile } from '../../src/infra/files';
import { startDevServer } from '../../src/infra/devServer';
import { startThrowawayPostgres } from '../../src/infra/postgres';
import { freePort } from '../../src/infra/process';
import { ensureTemporalCli } from '../../src/infra/temporalCli';
import { createSlmWorker, createTmfWorker, tmfClientFromConfig, WORKFLOWS_PATH } from '../../src/workers/workers';

const say = (msg: string) => process.stdout.write(msg + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { tickets: { type: 'string', default: '500' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.tickets);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error('--tickets and --rounds must be whole numbers ≥ 1');

  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const config = loadConfig({ ...process.env, SNOW_USERNAME: 'bench', SNOW_PASSWORD: 'bench-password' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-bench-'));
  const cli = await ensureTemporalCli({ explicit: config.TEMPORAL_CLI, cacheDir: config.SLM_CACHE_DIR, log: say });
  const [dev, pg, emulator, bundle] = await Promise.all([
    freePort().then((port) => startDevServer({ cli, dbFile: path.join(dir, 'temporal.sqlite'), port })),
    freePort().then((port) => startThrowawayPostgres(port)),
    startEmulator({ port: 0, username: config.SNOW_USERNAME, password: config.SNOW_PASSWORD }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') }),
  ]);
  const handle = openDb(pg.url, { max: 20 });
  const native = await NativeConnection.connect({ address: dev.address });
  const connection = await Connection.connect({ address: dev.address });
  const client = new Client({ connection });
  const http = tmfClientFromConfig(config, emulator.url);
  try {
    await migrateDb(handle.db);
    await applyDefinitions(handle.db, readDefinitionsFile(config.SLM_DEFINITIONS), config.SLM_DEFINITIONS);
    const slm = await createSlmWorker({ connection: native, namespace: 'default', taskQueue: config.SLM_TASK_QUEUE, db: handle.db, workflowBundle: bundle });
    const tmf = await createTmfWorker({ connection: native, namespace: 'default', taskQueue: config.TMF_TASK_QUEUE, http, maxConcurrent: config.TMF_MAX_CONCURRENT });
    const running = Promise.all([slm.run(), tmf.run()]);

    say(`e2e benchmark: ${n} tickets and ${n} trivial workflows per round, ${rounds} rounds`);
    say(`server: temporal dev server ${dev.address} (SQLite); PostgreSQL ${pg.port}; emulator ${emulator.url}; tmf slots ${config.TMF_MAX_CONCURRENT}; ${os.cpus().length} cores`);
    const ticketRates: number[] = [];
    const trivialRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const ids = Array.from({ length: n }, (_, i) => `B${round}-${i}`);
      const correlation = new Set(ids.map((id) => `ticket:${id}`));
      const ours = () => [...emulator.problems.values()].filter((p) => correlation.has(p.correlationId as string));

      const t0 = Date.now();
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'New', category: 'bench' }));
      await until('problems created', () => ours().length >= n, 600000);
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'Resolved', category: 'bench' }));
      await until('problems resolved', () => ours().filter((p) => p.status === 'resolved').length >= n, 600000);
      const ticketSeconds = (Date.now() - t0) / 1000;
      const posts = emulator.requests.filter((r) => r.method === 'POST' && correlation.has((r.body as { correlationId?: string }).correlationId ?? '')).length;
      if (posts !== n) throw new Error(`expected ${n} service problems created, the emulator received ${posts} POSTs`);

      const t1 = Date.now();
      await pool(ids, 64, (id) => client.workflow.execute('echoWorkflow', { workflowId: `echo:${id}`, taskQueue: config.SLM_TASK_QUEUE, args: [id] }));
      const trivialSeconds = (Date.now() - t1) / 1000;

      ticketRates.push(n / ticketSeconds);
      trivialRates.push(n / trivialSeconds);
      ratios.push(trivialSeconds / ticketSeconds);
      say(
        `round ${round}: tickets ${(n / ticketSeconds).toFixed(1)}/s (${ticketSeconds.toFixed(1)} s, ${posts} POST + ${n} PATCH)  ` +
          `trivial ${(n / trivialSeconds).toFixed(1)}/s (${trivialSeconds.toFixed(1)} s)  ratio ${(n / ticketSeconds / (n / trivialSeconds)).toFixed(3)}`,
      );
    }
    const tk = median(ticketRates);
    const tr = median(trivialRates);
    say(`median: tickets ${tk.toFixed(1)}/s, trivial workflows ${tr.toFixed(1)}/s, ratio tickets/trivial ${median(ratios).toFixed(3)} (median of the rounds' ratios)`);
    slm.shutdown();
    tmf.shutdown();
    await running;
  } finally {
    await http.close();
    await native.close();
    await connection.close();
    await handle.close();
    await emulator.close();
    await dev.stop();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
