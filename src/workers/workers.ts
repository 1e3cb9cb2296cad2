/**
 * Builds the two workers from injected clients: the `slm` worker (workflows + database activities)
 * and the `tmf` worker (HTTP activities to SNOW, five concurrent executions by default — the seed's
 * five connections). Entry points and the embedded runner wire real undici and drizzle through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActionActivities, type ActionSettings } from '../activities/actions';
import { createDbActivities } from '../activities/db';
import { createEngineActivities } from '../activities/engine';
import { createTmfActivities } from '../activities/tmf';
import { TmfClient } from '../activities/tmfClient';
import type { Config } from '../config';
import type { Db } from '../db/client';

// index.ts under tsx, index.js once compiled to dist/.
export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/** webpack's build report is noise at start-up; only its errors are worth showing. */
const quietBundler = new DefaultLogger('ERROR');

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
  /** Workflows kept in memory (SLM_MAX_CACHED_WORKFLOWS); the SDK's default sizes for lighter workflows. */
  maxCachedWorkflows?: number;
  workflowBundle?: WorkflowBundleOption;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundler })),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? 1000,
    activities: {
      ...createDbActivities({ db: opts.db }),
      ...createEngineActivities(),
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

export function tmfClientFromConfig(config: Config, baseUrl: string): TmfClient {
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
  });
}

export async function createTmfWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  http: TmfClient;
  maxConcurrent: number;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createTmfActivities({ http: opts.http }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrent,
  });
}

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
