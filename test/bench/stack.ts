/**
 * The stack the Temporal benchmarks run on: a fresh dev server (SQLite) and PostgreSQL cluster, the
 * emulator, the example definitions, and both workers with the production settings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';
import { migrateDb, openDb, type DbHandle } from '../../src/db/client';
import { parseDefinitions } from '../../src/domain/definitions';
import { applyDefinitions } from '../../src/db/queries';
import { startEmulator, type Emulator, type Faults } from '../../src/emulator/server';
import { readDefinitionsFile } from '../../src/infra/files';
import { startDevServer, type DevServer } from '../../src/infra/devServer';
import { startThrowawayPostgres } from '../../src/infra/postgres';
import { freePort } from '../../src/infra/process';
import { ensureTemporalCli } from '../../src/infra/temporalCli';
import { bundleSlmWorkflows } from '../../src/workers/bundle';
import { createSlmWorker } from '../../src/workers/slmWorker';
import { createTmfWorker } from '../../src/workers/tmfWorker';
import { slmWorkerSettingsFrom, tmfClientFromConfig } from '../../src/workers/wiring';
import { startTmfProcess, type TmfProcess } from '../support/tmfFleet';

export interface BenchStack {
  config: Config;
  db: DbHandle['db'];
  client: Client;
  emulator: Emulator;
  dev: DevServer;
  /** The workflow bundle the slm worker runs (for peers that host workflows on workers of their own). */
  bundle: WorkflowBundle;
  postgresPort: number;
  /** Statements the workers' database pool has sent so far. */
  statements(): number;
  /** Stops the tmf worker (its activities wait in the task queue) until `resumeTmf`. */
  databaseUrl: string;
  pauseTmf(): Promise<void>;
  resumeTmf(): Promise<void>;
  /** Stops the slm worker (its workflow tasks wait on the server) until `resumeSlm`. */
  pauseSlm(): Promise<void>;
  resumeSlm(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchStack(opts: {
  faults?: Partial<Faults>;
  log: (msg: string) => void;
  /** Definitions to load instead of the example file. */
  definitions?: unknown;
  env?: Record<string, string>;
}): Promise<BenchStack> {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const config = loadConfig({ ...process.env, SNOW_USERNAME: 'bench', SNOW_PASSWORD: 'bench-password', ...opts.env });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-bench-'));
  const cli = await ensureTemporalCli({ explicit: config.TEMPORAL_CLI, cacheDir: config.SLM_CACHE_DIR, log: opts.log });
  const [dev, pg, emulator, bundle] = await Promise.all([
    freePort().then((port) => startDevServer({ cli, dbFile: path.join(dir, 'temporal.sqlite'), port })),
    // Production settings: a durable cluster and dev server (fsync on, synchronous=FULL).
    freePort().then((port) => startThrowawayPostgres(port, { durable: true })),
    startEmulator({ port: 0, username: config.SNOW_USERNAME, password: config.SNOW_PASSWORD, faults: opts.faults }),
    bundleSlmWorkflows(),
  ]);
  let statements = 0;
  const handle = openDb(pg.url, { max: 20, onQuery: () => void statements++ });
  const native = await NativeConnection.connect({ address: dev.address });
  const connection = await Connection.connect({ address: dev.address });
  const http = tmfClientFromConfig(config, emulator.url);
  await migrateDb(handle.db);
  const definitions = opts.definitions === undefined ? readDefinitionsFile(config.SLM_DEFINITIONS) : parseDefinitions(opts.definitions);
  await applyDefinitions(handle.db, definitions, opts.definitions === undefined ? config.SLM_DEFINITIONS : 'bench');
  const slm = restartable(() => createSlmWorker({ ...slmWorkerSettingsFrom(config), namespace: 'default', connection: native, db: handle.db, workflowBundle: bundle }));
  const tmf = restartable(() => createTmfWorker({ connection: native, namespace: 'default', taskQueue: config.TMF_TASK_QUEUE, http, maxConcurrent: config.TMF_MAX_CONCURRENT }));
  await Promise.all([slm.resume(), tmf.resume()]);
  return {
    config,
    db: handle.db,
    client: new Client({ connection }),
    emulator,
    dev,
    bundle,
    postgresPort: pg.port,
    statements: () => statements,
    databaseUrl: pg.url,
    pauseTmf: tmf.pause,
    resumeTmf: tmf.resume,
    pauseSlm: slm.pause,
    resumeSlm: slm.resume,
    stop: async () => {
      await Promise.all([slm.pause(), tmf.pause()]);
      await http.close();
      await native.close();
      await connection.close();
      await handle.close();
      await emulator.close();
      await dev.stop();
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A tmf worker process as a fleet runs it (`src/workers/tmf.ts`), on this stack's server, database and emulator. */
export function startStackTmfProcess(stack: BenchStack): TmfProcess {
  return startTmfProcess({
    TEMPORAL_ADDRESS: stack.dev.address,
    DATABASE_URL: stack.databaseUrl,
    SNOW_BASE_URL: stack.emulator.url,
    SNOW_USERNAME: stack.config.SNOW_USERNAME,
    SNOW_PASSWORD: stack.config.SNOW_PASSWORD,
  });
}

/** What workflows cost, counted from their histories (the same on any machine). */
export interface WorkflowCosts {
  workflowTasks: number;
  localActivities: number;
  activities: number;
  searchAttributeUpserts: number;
  timers: number;
  events: number;
  /** Local activities by type. */
  byType: Record<string, number>;
}

/** The mean costs of the given workflows' histories (every run of each, following continue-as-new). */
export async function workflowCosts(client: Client, workflowIds: string[]): Promise<WorkflowCosts> {
  const sum: WorkflowCosts = { workflowTasks: 0, localActivities: 0, activities: 0, searchAttributeUpserts: 0, timers: 0, events: 0, byType: {} };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) {
      sum.events++;
      if (e.workflowTaskCompletedEventAttributes) sum.workflowTasks++;
      if (e.activityTaskScheduledEventAttributes) sum.activities++;
      if (e.upsertWorkflowSearchAttributesEventAttributes) sum.searchAttributeUpserts++;
      if (e.timerStartedEventAttributes) sum.timers++;
      const marker = e.markerRecordedEventAttributes;
      if (marker?.markerName === 'core_local_activity') {
        sum.localActivities++;
        const data = marker.details?.data?.payloads?.[0]?.data;
        const type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; activityType?: string }) : {};
        const name = type.activity_type ?? type.activityType ?? '?';
        sum.byType[name] = (sum.byType[name] ?? 0) + 1;
      }
    }
  }
  const n = workflowIds.length || 1;
  const per = (x: number) => Math.round((x / n) * 100) / 100;
  return {
    workflowTasks: per(sum.workflowTasks),
    localActivities: per(sum.localActivities),
    activities: per(sum.activities),
    searchAttributeUpserts: per(sum.searchAttributeUpserts),
    timers: per(sum.timers),
    events: per(sum.events),
    byType: Object.fromEntries(Object.entries(sum.byType).map(([k, v]) => [k, per(v)])),
  };
}

/**
 * Where a timer firing's time goes, from the histories' own timestamps (the server's clock): the
 * timer fired after its instant (server timer queue), the task waited for a worker (scheduled →
 * started), the worker ran it (started → completed, local activities included). Medians and p99 over
 * the firing task of each workflow.
 */
export async function firingPhases(client: Client, workflowIds: string[], dueAt: number): Promise<string> {
  const fired: number[] = [];
  const queued: number[] = [];
  const ran: number[] = [];
  let bounced = 0;
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  for (const id of workflowIds) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const i = events.findIndex((e) => e.timerFiredEventAttributes);
    if (i < 0) continue;
    // A task that waited past the sticky queue's schedule-to-start timeout went back to the shared queue.
    if (events.slice(i).some((e) => e.workflowTaskTimedOutEventAttributes)) bounced++;
    const scheduled = events.slice(i).find((e) => e.workflowTaskScheduledEventAttributes);
    const started = events.slice(i).find((e) => e.workflowTaskStartedEventAttributes);
    const completed = events.slice(i).find((e) => e.workflowTaskCompletedEventAttributes);
    if (!scheduled || !started || !completed) continue;
    fired.push(ms(events[i]!.eventTime) - dueAt);
    queued.push(ms(started.eventTime) - ms(scheduled.eventTime));
    ran.push(ms(completed.eventTime) - ms(started.eventTime));
  }
  if (fired.length === 0) return 'no sampled workflow had a timer fire (every burst ticket was past due when first processed)';
  const q = (xs: number[]) => `median ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms`;
  return `timer fired after its instant ${q(fired)}; task waited for a worker ${q(queued)}; worker ran it ${q(ran)}; ${bounced} of ${fired.length} workflows' tasks timed out on the worker's sticky queue`;
}

export function costsText(c: WorkflowCosts): string {
  const types = Object.entries(c.byType)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${c.workflowTasks} workflow tasks, ${c.localActivities} local activities (${types}), ${c.activities} activities, ${c.searchAttributeUpserts} search-attribute upserts, ${c.timers} timers, ${c.events} history events`;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The p-th percentile (nearest rank). */
export const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** A worker that can be stopped and started again; while stopped, its tasks wait on the server. */
function restartable(create: () => Promise<Worker>): { pause: () => Promise<void>; resume: () => Promise<void> } {
  let current: { worker: Worker; running: Promise<void> } | null = null;
  return {
    pause: async () => {
      if (!current) return;
      const { worker, running } = current;
      current = null;
      worker.shutdown();
      await running;
    },
    resume: async () => {
      if (current) return;
      const worker = await create();
      current = { worker, running: worker.run() };
    },
  };
}

/** CPU seconds used so far by the processes named `temporal` (the dev server) and `postgres`, and by this process. */
export function cpuSeconds(): { server: number; postgres: number; self: number } {
  const tick = 100; // USER_HZ on Linux
  const out = { server: 0, postgres: 0, self: 0 };
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime + stime, and cutime + cstime: a PostgreSQL backend that exited is counted in its postmaster's.
    const used = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / tick;
    if (Number(pid) === process.pid) out.self += used;
    else if (comm === 'temporal') out.server += used;
    else if (comm === 'postgres') out.postgres += used;
  }
  return out;
}

/** CPU milliseconds per item between two `cpuSeconds` readings. */
export function cpuText(before: ReturnType<typeof cpuSeconds>, after: ReturnType<typeof cpuSeconds>, n: number): string {
  const ms = (k: keyof typeof before) => (((after[k] - before[k]) * 1000) / n).toFixed(1);
  return `CPU per item: server ${ms('server')} ms, PostgreSQL ${ms('postgres')} ms, bench process (workers, emulator, client) ${ms('self')} ms`;
}
