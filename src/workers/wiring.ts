/**
 * The outside world wired once from the configuration, for every worker entry point, the embedded
 * runner, the tests and the benchmarks alike: SNOW's client (CA bundle, proxy, fleet-wide slots) and
 * the milestone actions' settings.
 */
import fs from 'node:fs';
import type { ActionSettings } from '../activities/actions';
import type { Config } from '../config';
import { FleetSlots, OPEN_GATE, type RequestGate } from '../clients/snowSlots';
import { TmfClient } from '../clients/tmf';
import type { Db } from '../db/client';

export const NO_ACTIONS: ActionSettings = { webhookSecret: null, smtpUrl: null, smtpFrom: 'temporal-slm <slm@localhost>', sourceWebhook: null, timeoutMs: 10_000 };

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

/**
 * What an slm worker takes from the configuration (task queue, namespace, action settings, the tmf
 * timeout, the cache size), once for every entry point, the tests and the benchmarks.
 */
export function slmWorkerSettingsFrom(config: Config) {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.SLM_TASK_QUEUE,
    actions: actionSettingsFrom(config),
    snowHttpTimeoutSeconds: config.SNOW_HTTP_TIMEOUT,
    maxCachedWorkflows: config.SLM_MAX_CACHED_WORKFLOWS,
    stickyTimeoutSeconds: config.SLM_STICKY_TIMEOUT,
  };
}
