/**
 * Builds the two workers from injected clients: the `slm` worker (workflows + database activities)
 * and the `tmf` worker (HTTP activities to SNOW over five connections by default — the seed's five
 * concurrent requests). Entry points and the embedded runner wire real undici and drizzle through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { bundleWorkflowCode, DefaultLogger, type Logger, type NativeConnection, Runtime, Worker, type WorkflowBundle, type WorkflowBundleOption } from '@temporalio/worker';
import { createActionActivities, type ActionSettings } from '../activities/actions';
import { createDbActivities } from '../activities/db';
import { createEngineActivities, type WorkerFacts } from '../activities/engine';
import { createTmfActivities } from '../activities/tmf';
import { TmfClient } from '../activities/tmfClient';
import type { Config } from '../config';
import { FleetSlots, OPEN_GATE, type RequestGate } from '../clients/snowSlots';
import type { Db } from '../db/client';

// index.ts under tsx, index.js once compiled to dist/.
export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/** webpack's build report is noise at start-up; only its errors are worth showing. */
const quietBundler = new DefaultLogger('ERROR');

/**
 * Modules evaluated once per worker and shared by every workflow it hosts, instead of once per
 * cached workflow (the SDK's `preloadModules`): the libraries and our pure domain code. Without this
 * each cached ticket carried its own copy of zod, luxon, cel-js and our schemas (about 0.8 MB), and
 * the first activation of every evicted ticket paid their start-up again. The SDK freezes what these
 * modules export, so they export no zod schema (only accessors) and no mutable state.
 */
export const PRELOADED_WORKFLOW_MODULES = ['zod', 'luxon', '@marcbachmann/cel-js', ...domainModules()];

/** Every module of src/domain (`.ts` under tsx, `.js` once compiled), so a new one is shared too. */
function domainModules(): string[] {
  const dir = path.join(__dirname, '..', 'domain');
  return fs
    .readdirSync(dir)
    .map((f) => /^(\w+)\.[jt]s$/.exec(f)?.[1])
    .filter((m): m is string => m !== undefined)
    .map((m) => path.join(dir, m));
}

/**
 * Cached ticket workflows for this process's heap when SLM_MAX_CACHED_WORKFLOWS is unset: 1.5 per
 * MiB above 300 MiB (about 5,800 with Node's 4 GiB default). A cached ticket measured about 0.25 MB
 * of heap with the shared modules above (`npm run bench -- timers` keeps 5,000 in 1.7 GB of RSS), so
 * this leaves the heap half free; the SDK's own default (600 per GiB) evicts and replays sooner.
 */
export function defaultMaxCachedWorkflows(heapLimitBytes = v8.getHeapStatistics().heap_size_limit): number {
  return Math.max(100, Math.floor((heapLimitBytes / 2 ** 20 - 300) * 1.5));
}

/** The workflow bundle every worker, test and benchmark runs. */
export function bundleSlmWorkflows(logger: Logger = quietBundler): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: PRELOADED_WORKFLOW_MODULES, logger });
}

let runtimeInstalled = false;

/** Routes SDK and workflow logs once per process; signals are handled by our entry points. */
export function installRuntime(level: Config['LOG_LEVEL']): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
  runtimeInstalled = true;
}

export async function createSlmWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Db;
  /** Milestone action settings (webhook key, SMTP, source webhook); none configured by default. */
  actions?: ActionSettings;
  /** SNOW_HTTP_TIMEOUT in seconds: sizes the start-to-close of the tmf activities runs schedule. */
  snowHttpTimeoutSeconds?: number;
  /** Workflows kept in memory (SLM_MAX_CACHED_WORKFLOWS); by default sized from the heap. */
  maxCachedWorkflows?: number | undefined;
  workflowBundle?: WorkflowBundleOption;
}): Promise<Worker> {
  const facts: WorkerFacts = {
    writesBack: !!opts.actions?.sourceWebhook,
    // A tmf activity makes at most two requests (a look-up, then the call itself).
    tmfTimeoutSeconds: opts.snowHttpTimeoutSeconds ? 2 * opts.snowHttpTimeoutSeconds + 10 : null,
  };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle ?? (await bundleSlmWorkflows()),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? defaultMaxCachedWorkflows(),
    activities: {
      ...createDbActivities({ db: opts.db, facts }),
      ...createEngineActivities(facts),
      ...createActionActivities({ db: opts.db, settings: opts.actions ?? NO_ACTIONS }),
    },
  });
}

const NO_ACTIONS: ActionSettings = { webhookSecret: null, smtpUrl: null, smtpFrom: 'temporal-slm <slm@localhost>', sourceWebhook: null, timeoutMs: 10_000 };

export function actionSettingsFrom(config: Config): ActionSettings {
  return {
    webhookSecret: config.SLM_WEBHOOK_SECRET ?? null,
    smtpUrl: config.SLM_SMTP_URL ?? null,
    smtpFrom: config.SLM_SMTP_FROM,
    sourceWebhook: config.SLM_SOURCE_WEBHOOK ?? null,
    timeoutMs: config.SLM_ACTION_TIMEOUT * 1000,
  };
}

/** SNOW's proxy: SNOW_PROXY, else the environment's by SNOW's scheme; none when bypassed. */
export function snowProxyOf(config: Config, baseUrl: string): string | null {
  if (config.SNOW_BYPASS_PROXY) return null;
  return config.SNOW_PROXY ?? (baseUrl.startsWith('https:') ? (config.HTTPS_PROXY ?? config.HTTP_PROXY) : config.HTTP_PROXY) ?? null;
}

/**
 * The gate that holds TMF_MAX_CONCURRENT across the fleet (TMF_CONCURRENCY_SCOPE=fleet, the default):
 * slots leased in the database every tmf worker shares. Without a database, per process.
 */
export function snowGateFromConfig(config: Config, db: Db | null): RequestGate {
  if (config.TMF_CONCURRENCY_SCOPE === 'process') return OPEN_GATE;
  if (!db) throw new Error('TMF_CONCURRENCY_SCOPE=fleet needs the database (DATABASE_URL) to share SNOW slots; set TMF_CONCURRENCY_SCOPE=process for a per-process cap');
  return new FleetSlots({ db, slots: config.TMF_MAX_CONCURRENT, leaseMs: config.TMF_SLOT_LEASE * 1000 });
}

export function tmfClientFromConfig(config: Config, baseUrl: string, gate: RequestGate = OPEN_GATE): TmfClient {
  let ca: string | null = null;
  if (config.SNOW_CA_FILE) {
    try {
      ca = fs.readFileSync(config.SNOW_CA_FILE, 'utf8');
    } catch (err) {
      throw new Error(`SNOW_CA_FILE ${config.SNOW_CA_FILE} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`SNOW_CA_FILE ${config.SNOW_CA_FILE} holds no PEM certificate`);
  }
  return new TmfClient({
    ca,
    proxyUrl: snowProxyOf(config, baseUrl),
    noProxy: config.SNOW_NO_PROXY ?? config.NO_PROXY ?? null,
    bypassProxy: config.SNOW_BYPASS_PROXY,
    baseUrl,
    problemPath: config.SNOW_PROBLEM_PATH,
    alarmPath: config.SNOW_ALARM_PATH,
    username: config.SNOW_USERNAME,
    password: config.SNOW_PASSWORD,
    timeoutMs: config.SNOW_HTTP_TIMEOUT * 1000,
    connections: config.TMF_MAX_CONCURRENT,
    gate,
  });
}

export async function createTmfWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  http: TmfClient;
  /** Requests to SNOW at once (TMF_MAX_CONCURRENT): the HTTP client's connections, which `http` was built with. */
  maxConcurrent: number;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createTmfActivities({ http: opts.http }),
    // SNOW sees at most `maxConcurrent` requests: the HTTP client's connections cap them and queue
    // the rest. Four activities run per connection, so one activity's Temporal round trips (poll,
    // then completion) overlap another's request and the connections are not left idle in between.
    maxConcurrentActivityTaskExecutions: opts.maxConcurrent * ACTIVITIES_PER_CONNECTION,
  });
}

const ACTIVITIES_PER_CONNECTION = 4;

/**
 * Resolves on the first SIGINT/SIGTERM. One Ctrl-C reaches this process several times (the terminal
 * signals the whole process group, and npm and tsx relay it), so repeats within two seconds are the
 * same request; a signal after that forces: `force` runs (synchronous clean-up), then the process exits.
 */
export function onShutdownSignal(force?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first = 0;
    const handler = (sig: NodeJS.Signals) => {
      const now = Date.now();
      if (first === 0) {
        first = now;
        resolve(sig);
      } else if (now - first >= 2000) {
        force?.();
        process.exit(130);
      }
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
