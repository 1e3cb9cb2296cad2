/**
 * Shared pieces of the workflow and integration suites: a fresh database per suite on the run's
 * PostgreSQL cluster, the emulator, real workers on the shared workflow bundle, and the CLI as a
 * child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { loadConfig, type Config } from '../../src/config';
import { migrateDb, openDb, type DbHandle } from '../../src/db/client';
import { applyDefinitions } from '../../src/db/queries';
import { parseDefinitions } from '../../src/domain/definitions';
import { startEmulator, type Emulator } from '../../src/emulator/server';
import { startDevServer, type DevServer } from '../../src/infra/devServer';
import { freePort } from '../../src/infra/process';
import { createSlmWorker } from '../../src/workers/slmWorker';
import { createTmfWorker } from '../../src/workers/tmfWorker';
import { slmWorkerSettingsFrom, tmfClientFromConfig } from '../../src/workers/wiring';

export const ROOT = path.resolve(__dirname, '..', '..');

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suites through \`npm test\``);
  return v;
}

let dbCounter = 0;

/** A new, migrated database on the run's cluster, so suites never see each other's rows. */
/** A new database of its own; migrated to the current schema unless `migrate: false`. */
export async function freshDatabase(label: string, opts: { migrate?: boolean } = {}): Promise<DbHandle & { url: string }> {
  const base = new URL(env('SLM_TEST_DATABASE_URL'));
  const name = `t_${label.replace(/\W/g, '_')}_${process.pid}_${++dbCounter}`.toLowerCase();
  const admin = new PgClient({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  base.pathname = '/' + name;
  const handle = openDb(base.toString(), { max: 5 });
  if (opts.migrate !== false) await migrateDb(handle.db);
  return { ...handle, url: base.toString() };
}

export const SNOW = { username: 'test-user', password: 'test-secret-pw' };

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ SNOW_USERNAME: SNOW.username, SNOW_PASSWORD: SNOW.password, ...overrides });
}

export async function startTestEmulator(): Promise<Emulator> {
  return startEmulator({ port: 0, username: SNOW.username, password: SNOW.password });
}

export async function applyTestDefinitions(handle: DbHandle, raw: unknown): Promise<void> {
  await applyDefinitions(handle.db, parseDefinitions(raw), 'test');
}

export function loadBundle(): { code: string } {
  return { code: fs.readFileSync(env('SLM_TEST_BUNDLE'), 'utf8') };
}

export interface RunningWorkers {
  slm: Worker;
  tmf: Worker;
  stop(): Promise<void>;
}

/** Both workers, real activities, on the given server; `stop` shuts them down gracefully. */
export async function startWorkers(opts: {
  connection: NativeConnection;
  namespace?: string;
  db: DbHandle;
  snowUrl: string;
  config: Config;
  compliance?: boolean;
}): Promise<RunningWorkers> {
  const namespace = opts.namespace ?? 'default';
  // The production wiring (CA bundle, proxy settings, timeouts from the configuration).
  const http = tmfClientFromConfig(opts.config, opts.snowUrl);
  // Compliance runs only where a suite asks for it (a time-skipping server would skip to its timers).
  const slm = await createSlmWorker({
    ...slmWorkerSettingsFrom(opts.config),
    namespace,
    connection: opts.connection,
    db: opts.db.db,
    workflowBundle: loadBundle(),
    compliance: opts.compliance ?? false,
  });
  const tmf = await createTmfWorker({ connection: opts.connection, namespace, taskQueue: opts.config.TMF_TASK_QUEUE, http, maxConcurrent: opts.config.TMF_MAX_CONCURRENT });
  const running = Promise.all([slm.run(), tmf.run()]);
  let stopped: Promise<void> | null = null;
  return {
    slm,
    tmf,
    // Once, however often it is called (a test may stop the workers before the suite does).
    stop: () =>
      (stopped ??= (async () => {
        if (slm.getState() === 'RUNNING') slm.shutdown();
        if (tmf.getState() === 'RUNNING') tmf.shutdown();
        await running;
        await http.close();
      })()),
  };
}

export { NativeConnection };

/** Runs `slm` as a user would; resolves with its exit code and output. */
export function runCli(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slm.cjs'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SLM_DATA_DIR: path.join(env('SLM_TEST_DIR'), 'cli-data'), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A dev-server stack for an integration suite: Temporal, a fresh database, the emulator, both workers. */
export interface DevStack {
  dev: DevServer;
  emulator: Emulator;
  db: DbHandle & { url: string };
  native: NativeConnection;
  client: Client;
  workers: RunningWorkers;
  /** The environment that points the CLI at this stack. */
  cliEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startDevStack(opts: { label: string; definitions: unknown; config: Config; dynamicConfig?: Record<string, string | number> }): Promise<DevStack> {
  const dev = await startDevServer({
    cli: env('SLM_TEST_TEMPORAL_CLI'),
    dbFile: path.join(env('SLM_TEST_DIR'), `${opts.label}-${process.pid}.sqlite`),
    port: await freePort(),
    durable: false, // throw-away
    ...(opts.dynamicConfig ? { dynamicConfig: opts.dynamicConfig } : {}),
  });
  const emulator = await startTestEmulator();
  const db = await freshDatabase(opts.label);
  await applyTestDefinitions(db, opts.definitions);
  const native = await NativeConnection.connect({ address: dev.address });
  const workers = await startWorkers({ connection: native, db, snowUrl: emulator.url, config: opts.config });
  const connection = await Connection.connect({ address: dev.address });
  const stack: DevStack = {
    dev,
    emulator,
    db,
    native,
    client: new Client({ connection }),
    workers,
    cliEnv: { TEMPORAL_ADDRESS: dev.address, DATABASE_URL: db.url, SNOW_USERNAME: SNOW.username, SNOW_PASSWORD: SNOW.password },
    stop: async () => {
      // The workers running now: a test may have replaced the first ones.
      await workers.stop();
      await stack.workers.stop();
      await connection.close();
      await native.close();
      await dev.stop();
      await emulator.close();
      await db.close();
    },
  };
  return stack;
}

/** A stack whose tmf side runs elsewhere (tmf worker processes): dev server, emulator, a fresh database, the slm worker. */
export interface SlmOnlyStack {
  dev: DevServer;
  emulator: Emulator;
  db: DbHandle & { url: string };
  client: Client;
  stop(): Promise<void>;
}

export async function startSlmOnlyStack(opts: { label: string; config: Config; definitions: unknown }): Promise<SlmOnlyStack> {
  const dev = await startDevServer({
    cli: env('SLM_TEST_TEMPORAL_CLI'),
    dbFile: path.join(env('SLM_TEST_DIR'), `${opts.label}-${process.pid}.sqlite`),
    port: await freePort(),
    durable: false,
  });
  const emulator = await startTestEmulator();
  const db = await freshDatabase(opts.label);
  await applyTestDefinitions(db, opts.definitions);
  const native = await NativeConnection.connect({ address: dev.address });
  const slm = await createSlmWorker({ ...slmWorkerSettingsFrom(opts.config), namespace: 'default', connection: native, db: db.db, workflowBundle: loadBundle() });
  const running = slm.run();
  const connection = await Connection.connect({ address: dev.address });
  return {
    dev,
    emulator,
    db,
    client: new Client({ connection }),
    stop: async () => {
      slm.shutdown();
      await running;
      await connection.close();
      await native.close();
      await dev.stop();
      await emulator.close();
      await db.close();
    },
  };
}
