/**
 * The one place that reads process.env. Every key is documented in `.env.example`; an invalid value
 * stops start-up with the variable's name and what was expected.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseDuration } from './domain/duration';

const PROJECT_ROOT = path.resolve(__dirname, '..');

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(1).max(65535);

const duration = z.string().transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const urlString = z.url({ protocol: /^(https?|postgres(ql)?)$/ });

export const configSchema = z.object({
  // Temporal
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_CLI: z.string().optional(),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  /** Where operators open the Temporal UI (the dashboard links each ticket's workflow there); `npm start` sets its own. */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Database
  DATABASE_URL: urlString.optional(),
  DATABASE_EMBEDDED_PORT: port.default(5433),
  // SNOW (the TMF656/TMF642 peer)
  SNOW_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  SNOW_USERNAME: z.string().min(1).default('slm'),
  SNOW_PASSWORD: z.string().min(1).default('slm-dev-password'),
  /** A file holding the SNOW password (a mounted secret); wins over SNOW_PASSWORD. */
  SNOW_PASSWORD_FILE: z.string().min(1).optional(),
  SNOW_PROBLEM_PATH: z.string().min(1).default('gstm/dataminer/tmf/api/v1/tmf656/'),
  SNOW_ALARM_PATH: z.string().min(1).default('gstm/dataminer/tmf/api/v1/tmf642/alarm'),
  SNOW_HTTP_TIMEOUT: duration.default(30),
  /** PEM file of the CA bundle that issued SNOW's certificate (added to the system's). */
  SNOW_CA_FILE: z.string().min(1).optional(),
  /** Proxy for SNOW; defaults to HTTPS_PROXY / HTTP_PROXY (by SNOW's scheme). */
  SNOW_PROXY: z.url({ protocol: /^https?$/ }).optional(),
  /** Hosts that skip the proxy; defaults to NO_PROXY. */
  SNOW_NO_PROXY: z.string().optional(),
  /** The seed's BypassProxy switch: never use a proxy for SNOW. */
  SNOW_BYPASS_PROXY: bool.default(false),
  HTTPS_PROXY: z.string().optional(),
  HTTP_PROXY: z.string().optional(),
  NO_PROXY: z.string().optional(),
  /** `u_source` that marks our problems in SNOW and filters the poll (seed: dataminer). */
  SNOW_SOURCE: z.string().min(1).default('dataminer'),
  SNOW_SYNC_ENABLED: bool.default(true),
  SNOW_SYNC_FREQUENCY: z.coerce.number().int().min(10, 'at least 10 seconds').max(86400, 'at most 86400 seconds (24 h)').default(60),
  // Workers
  SLM_TASK_QUEUE: z.string().min(1).default('slm'),
  TMF_TASK_QUEUE: z.string().min(1).default('tmf'),
  TMF_MAX_CONCURRENT: z.coerce.number().int().min(1).max(1000).default(5),
  /**
   * Where TMF_MAX_CONCURRENT holds: `fleet` (every tmf worker on the same database shares the
   * requests, through leases in PostgreSQL) or `process` (each worker has its own).
   */
  TMF_CONCURRENCY_SCOPE: z.enum(['fleet', 'process']).default('fleet'),
  /** How long a worker's hold on a fleet-wide SNOW slot lasts without renewal (a killed worker's slots free after it). */
  TMF_SLOT_LEASE: duration.default(10),
  /** Ticket workflows kept in the slm worker's memory; others replay when they wake. Unset: sized from the heap. */
  SLM_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).max(100000).optional(),
  /**
   * How long a ticket's workflow task waits for the worker that has the ticket in memory before it
   * goes to any worker of the queue (Temporal's sticky schedule-to-start timeout; the SDK's default is
   * 10 s). When thousands of timers come due at once the backlog is longer than 10 s, and every task
   * that times out costs the server a second dispatch and a worker a replay; a worker that shuts down
   * hands its tickets back at once, so only a crashed worker's queued tasks wait this long.
   */
  SLM_STICKY_TIMEOUT: duration.default(60),
  // Engine
  SLM_DEFINITIONS: z
    .string()
    .min(1)
    .default(path.join(PROJECT_ROOT, 'examples', 'definitions.yaml')),
  /**
   * When `npm start` stores SLM_DEFINITIONS: `if-none` (only when the store holds no definitions yet,
   * so what `slm definitions apply` stored survives restarts) or `always` (as a new version when it
   * differs; running tickets are told).
   */
  SLM_DEFINITIONS_APPLY: z.enum(['if-none', 'always']).default('if-none'),
  // Milestone actions
  /** Key of the HMAC-SHA256 signature on milestone webhooks (header X-SLM-Signature). */
  SLM_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** SMTP server for e-mail notifications, e.g. smtp://user:pass@mail.example.com:587. */
  SLM_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  SLM_SMTP_FROM: z.string().min(3).default('temporal-slm <slm@localhost>'),
  /** The ticket source's webhook: fields set by milestones (setField) are POSTed back to it. */
  SLM_SOURCE_WEBHOOK: z.url({ protocol: /^https?$/ }).optional(),
  /** Timeout of one webhook or SMTP delivery. */
  SLM_ACTION_TIMEOUT: duration.default(10),
  // HTTP API (DESIGN §4.9)
  SLM_API_HOST: z.string().min(1).default('127.0.0.1'),
  SLM_API_PORT: port.default(8080),
  /** `npm start` serves the API (and the metrics) beside the workers. */
  SLM_API_START: bool.default(true),
  /** One bearer token for every tenant, role admin. A secret. */
  SLM_API_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** A YAML/JSON list of `{ token, tenant?, role: ingest | read | admin, source?, name? }`. */
  SLM_API_TOKENS_FILE: z.string().min(1).optional(),
  /** Ingest requests in flight at once before the API answers 429 with Retry-After. */
  SLM_API_MAX_INFLIGHT: z.coerce.number().int().min(1).max(100000).default(256),
  /** Ticket changes queued for their workflows (answered 202, not yet in Temporal) before the API answers 429. */
  SLM_API_MAX_PENDING: z.coerce.number().int().min(1).max(10_000_000).default(10000),
  /** How long an Idempotency-Key is remembered. */
  SLM_API_IDEMPOTENCY_TTL: duration.default(86400),
  /** Where a fleet's slm and tmf workers serve /metrics (Prometheus text); unset: not served. */
  SLM_METRICS_PORT: port.optional(),
  /** `text` (one readable line per event) or `json` (one JSON object per line, with ticket and workflow ids). */
  SLM_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  // Emulator
  EMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  EMULATOR_PORT: port.default(8480),
  EMULATOR_START: bool.default(true),
  // Local state and tool caches
  SLM_DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')),
  SLM_CACHE_DIR: z
    .string()
    .min(1)
    .default(path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'temporal-slm')),
  LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Settings that change how ticket runs behave, which release 0.2 read from the environment of whoever
 * started a ticket (and froze into it): now in the definitions, versioned and applied to running
 * tickets like any edit. A value other than the old default is refused with where it went, rather
 * than silently ignored; the old default (a copied `.env.example`) changes nothing and passes.
 */
const MOVED_TO_DEFINITIONS: Record<string, { to: string; unchanged: (v: string) => boolean }> = {
  SNOW_ACTIVE_STATES: {
    to: 'connector.activeStates',
    unchanged: (v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .join(',') === 'New,Assigned,In Progress,On Hold',
  },
  SNOW_EVENT_FIELD: { to: 'connector.eventField', unchanged: (v) => v.trim() === 'deviceIp' },
  SLM_REOPEN_WINDOW: { to: 'engine.reopenWindow', unchanged: (v) => sameDuration(v, 30 * 86400) },
};

function sameDuration(text: string, seconds: number): boolean {
  try {
    return parseDuration(text) === seconds;
  } catch {
    return false;
  }
}

/**
 * The variables of a `.env` file in the working folder (or SLM_ENV_FILE), below the environment's own:
 * a variable set in the environment wins. Missing file: none.
 */
export function dotEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const file = env.SLM_ENV_FILE ?? path.join(process.cwd(), '.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (env.SLM_ENV_FILE) throw new ConfigError(`invalid configuration: SLM_ENV_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  return parseEnv(text) as Record<string, string>;
}

/**
 * Parses `env` (process.env and the `.env` file by default); throws a ConfigError naming every bad
 * variable. An explicit `env` is taken as it is (tests pass their own).
 */
export function loadConfig(env: NodeJS.ProcessEnv = { ...dotEnv(), ...process.env }): Config {
  // The proxy variables are conventionally lower-case too.
  const lower: Record<string, string | undefined> = { HTTPS_PROXY: env.https_proxy, HTTP_PROXY: env.http_proxy, NO_PROXY: env.no_proxy };
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((k) => [k, env[k] ?? lower[k]] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  if (typeof known.SNOW_PASSWORD_FILE === 'string') {
    try {
      known.SNOW_PASSWORD = fs.readFileSync(known.SNOW_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`invalid configuration: SNOW_PASSWORD_FILE: cannot read ${known.SNOW_PASSWORD_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const moved = Object.entries(MOVED_TO_DEFINITIONS).filter(([k, m]) => env[k] !== undefined && env[k] !== '' && !m.unchanged(env[k]));
  if (moved.length) {
    throw new ConfigError(
      `invalid configuration: ${moved.map(([k, m]) => `${k}: moved to the definitions file: set ${m.to} there (versioned, and it reaches running tickets)`).join('; ')}`,
    );
  }
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export { PROJECT_ROOT };
