/**
 * SNOW behind a small interface (`SnowClient`), and its implementation over undici (`TmfClient`):
 * TMF656/TMF642 bodies with ServiceNow query conventions (seed 000). Credentials live only here:
 * they never appear in errors, logs or workflow history.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { ServiceProblemBody, ServiceProblemRef } from '../domain/snow/serviceProblem';
import { httpFailure, type HttpFailureTypes } from './httpFailure';
import { snowErrors, snowRequests } from '../telemetry/metrics';
import { OPEN_GATE, type RequestGate } from './snowSlots';

export { retryAfterSeconds } from './httpFailure';

/** What the tmf activities ask of SNOW. */
export interface SnowClient {
  createProblem(body: ServiceProblemBody): Promise<ServiceProblemRef>;
  patchProblem(id: string, patch: Record<string, unknown>): Promise<ServiceProblemRecord>;
  getProblem(id: string): Promise<ServiceProblemRecord>;
  /** Problems matching a ServiceNow encoded query (`sysparm_query`), one page. */
  queryProblems(sysparmQuery: string, limit?: number, offset?: number): Promise<ServiceProblemRecord[]>;
  createAlarm(body: unknown): Promise<{ id: string | number } & Record<string, unknown>>;
  findAlarms(externalAlarmId: string): Promise<({ id: string | number } & Record<string, unknown>)[]>;
  close(): Promise<void>;
}

export interface TmfClientOptions {
  baseUrl: string;
  problemPath: string;
  alarmPath: string;
  username: string;
  password: string;
  timeoutMs: number;
  /** Connections kept open to SNOW; the seed uses five. */
  connections: number;
  /** PEM CA bundle trusted for SNOW's certificate (besides the system's). */
  ca?: string | null;
  /** HTTP(S) proxy URL; requests to SNOW tunnel through it (CONNECT) unless bypassed. */
  proxyUrl?: string | null;
  /** NO_PROXY-style list: hosts, domain suffixes, `host:port`, or `*`. */
  noProxy?: string | null;
  /** The seed's BypassProxy: never use the proxy. */
  bypassProxy?: boolean;
  /** What each request waits for first: the fleet-wide slots (FleetSlots), or nothing. */
  gate?: RequestGate;
}

/** Whether `url`'s host is exempt from the proxy by a NO_PROXY-style list. */
export function bypassesProxy(url: URL, noProxy: string | null | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      const entry = raw.toLowerCase();
      if (entry === '*') return true;
      const [name, entryPort] = entry.startsWith('[') ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]] : (entry.split(':') as [string, string | undefined]);
      if (entryPort && entryPort !== port) return false;
      const bare = name.replace(/^\*?\./, '');
      return host === bare || host.endsWith(`.${bare}`);
    });
}

/** TLS failures that retrying cannot fix: SNOW's certificate is not trusted or does not match. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Failure types of the TMF area (STYLE §7). */
export const TmfFailure = {
  Rejected: 'TmfRejected',
  Unauthorized: 'TmfUnauthorized',
  NotFound: 'TmfNotFound',
  RateLimited: 'TmfRateLimited',
  Conflict: 'TmfConflict',
  ServerError: 'TmfServerError',
  Network: 'TmfNetwork',
  BadResponse: 'TmfBadResponse',
  Tls: 'TmfTls',
} as const;

export interface ServiceProblemRecord extends Record<string, unknown> {
  id: string;
  number?: string;
  link?: string;
  status?: string;
  correlationId?: string;
  sys_updated_on?: string;
}

export class TmfClient implements SnowClient {
  private readonly agent: Dispatcher & { close(): Promise<void> };
  /** Whether requests go through the configured proxy. */
  readonly viaProxy: boolean;
  private readonly auth: string;
  private readonly problemBase: URL;
  private readonly alarmUrl: URL;

  constructor(private readonly opts: TmfClientOptions) {
    const tls = opts.ca ? { ca: opts.ca } : undefined;
    const common = { connections: opts.connections, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs };
    const useProxy = !!opts.proxyUrl && !opts.bypassProxy && !bypassesProxy(new URL(opts.baseUrl), opts.noProxy);
    this.agent = useProxy ? new ProxyAgent({ uri: opts.proxyUrl!, ...common, ...(tls ? { requestTls: tls } : {}) }) : new Agent({ ...common, ...(tls ? { connect: tls } : {}) });
    this.viaProxy = useProxy;
    this.auth = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
    const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/';
    const problemPath = opts.problemPath.replace(/^\//, '');
    this.problemBase = new URL(problemPath.endsWith('/') ? problemPath : problemPath + '/', base);
    this.alarmUrl = new URL(opts.alarmPath.replace(/^\//, ''), base);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async createProblem(body: ServiceProblemBody): Promise<ServiceProblemRef> {
    const rec = await this.call<ServiceProblemRecord>('POST', new URL('serviceProblem', this.problemBase), body);
    return refOf(rec);
  }

  async patchProblem(id: string, patch: Record<string, unknown>): Promise<ServiceProblemRecord> {
    return this.call<ServiceProblemRecord>('PATCH', new URL(`serviceProblem/${encodeURIComponent(id)}`, this.problemBase), patch);
  }

  async getProblem(id: string): Promise<ServiceProblemRecord> {
    return this.call<ServiceProblemRecord>('GET', new URL(`serviceProblem/${encodeURIComponent(id)}`, this.problemBase));
  }

  async createAlarm(body: unknown): Promise<{ id: string | number } & Record<string, unknown>> {
    return this.call('POST', this.alarmUrl, body);
  }

  /** Alarms whose `externalAlarmId` equals `externalAlarmId` (TMF attribute filtering). */
  async findAlarms(externalAlarmId: string): Promise<({ id: string | number } & Record<string, unknown>)[]> {
    const url = new URL(this.alarmUrl);
    url.searchParams.set('externalAlarmId', externalAlarmId);
    return this.call('GET', url);
  }

  /** Lists problems matching a ServiceNow encoded query (`sysparm_query`). */
  async queryProblems(sysparmQuery: string, limit = 100, offset = 0): Promise<ServiceProblemRecord[]> {
    const url = new URL('serviceProblem', this.problemBase);
    url.searchParams.set('sysparm_query', sysparmQuery);
    url.searchParams.set('sysparm_limit', String(limit));
    url.searchParams.set('sysparm_offset', String(offset));
    return this.call<ServiceProblemRecord[]>('GET', url);
  }

  private async call<T>(method: 'GET' | 'POST' | 'PATCH', url: URL, body?: unknown): Promise<T> {
    const release = await (this.opts.gate ?? OPEN_GATE).acquire();
    try {
      return await this.send<T>(method, url, body);
    } finally {
      release();
    }
  }

  private async send<T>(method: 'GET' | 'POST' | 'PATCH', url: URL, body?: unknown): Promise<T> {
    const what = `${method} ${url.pathname}`;
    const operation = `${method} ${url.pathname.startsWith(this.alarmUrl.pathname) ? 'alarm' : 'problem'}`;
    const t0 = performance.now();
    const measure = (status: string, failed: boolean) => {
      snowRequests.observe({ operation, status }, (performance.now() - t0) / 1000);
      if (failed) snowErrors.inc({ operation, status });
    };
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: this.auth,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      measure('network', true);
      const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? '';
      if (TLS_CODES.has(code)) {
        throw ApplicationFailure.create({
          type: TmfFailure.Tls,
          message: `${what}: SNOW's TLS certificate is not trusted (${code}); set SNOW_CA_FILE to the CA bundle that issued it`,
          nonRetryable: true,
        });
      }
      throw ApplicationFailure.create({
        type: TmfFailure.Network,
        message: `${what}: ${(err as Error).message}${this.viaProxy ? ' (through the proxy)' : ''}`,
        nonRetryable: false,
      });
    }
    const text = await res.body.text();
    measure(String(res.statusCode), res.statusCode < 200 || res.statusCode >= 300);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return (text === '' ? null : JSON.parse(text)) as T;
      } catch {
        throw ApplicationFailure.create({ type: TmfFailure.BadResponse, message: `${what}: response is not JSON`, nonRetryable: false });
      }
    }
    throw failureFor(what, res.statusCode, text, res.headers['retry-after']);
  }
}

/** The id, incident number and link of a problem record; a record without an id is a bad response. */
export function refOf(rec: ServiceProblemRecord | null): ServiceProblemRef {
  if (!rec || typeof rec.id !== 'string' || rec.id === '') {
    throw ApplicationFailure.create({ type: TmfFailure.BadResponse, message: 'service problem response has no id', nonRetryable: false });
  }
  return {
    id: rec.id,
    incidentNumber: typeof rec.number === 'string' ? rec.number : null,
    link: typeof rec.link === 'string' ? rec.link : typeof rec.href === 'string' ? rec.href : null,
  };
}

const TMF_FAILURE_TYPES: HttpFailureTypes = {
  rateLimited: TmfFailure.RateLimited,
  serverError: TmfFailure.ServerError,
  conflict: TmfFailure.Conflict,
  unauthorized: TmfFailure.Unauthorized,
  notFound: TmfFailure.NotFound,
  rejected: TmfFailure.Rejected,
};

/** SNOW's failed answer as a typed failure (the shared mapper), with SNOW's reason in the message. */
export function failureFor(what: string, status: number, text: string, retryAfter?: string | string[], now = Date.now()): ApplicationFailure {
  let reason: string;
  try {
    const err = JSON.parse(text) as { reason?: string; message?: string };
    reason = [err.reason, err.message].filter(Boolean).join(': ');
  } catch {
    reason = text.slice(0, 200);
  }
  return httpFailure(TMF_FAILURE_TYPES, `${what} answered ${status}${reason ? ` (${reason})` : ''}`, status, { retryAfter, now });
}
