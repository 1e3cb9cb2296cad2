/**
 * A small TMF656/TMF642 client over undici, speaking TMF bodies with ServiceNow query conventions
 * (seed 000). Credentials live only here: they never appear in errors, logs or workflow history.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Agent, request } from 'undici';
import type { ServiceProblemBody, ServiceProblemRef } from '../domain/serviceProblem';

export interface TmfClientOptions {
  baseUrl: string;
  problemPath: string;
  alarmPath: string;
  username: string;
  password: string;
  timeoutMs: number;
  /** Connections kept open to SNOW; the seed uses five. */
  connections: number;
}

/** Failure types of the TMF area (STYLE §7). */
export const TmfFailure = {
  Rejected: 'TmfRejected',
  Unauthorized: 'TmfUnauthorized',
  NotFound: 'TmfNotFound',
  RateLimited: 'TmfRateLimited',
  ServerError: 'TmfServerError',
  Network: 'TmfNetwork',
  BadResponse: 'TmfBadResponse',
} as const;

export interface ServiceProblemRecord extends Record<string, unknown> {
  id: string;
  number?: string;
  link?: string;
  status?: string;
  correlationId?: string;
  sys_updated_on?: string;
}

export class TmfClient {
  private readonly agent: Agent;
  private readonly auth: string;
  private readonly problemBase: URL;
  private readonly alarmUrl: URL;

  constructor(private readonly opts: TmfClientOptions) {
    this.agent = new Agent({ connections: opts.connections, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
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
    const what = `${method} ${url.pathname}`;
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
      throw ApplicationFailure.create({
        type: TmfFailure.Network,
        message: `${what}: ${(err as Error).message}`,
        nonRetryable: false,
      });
    }
    const text = await res.body.text();
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

/** Maps an HTTP failure to a typed ApplicationFailure: 4xx other than 408/409/429 is not retried. */
export function failureFor(what: string, status: number, text: string, retryAfter?: string | string[]): ApplicationFailure {
  let reason: string;
  try {
    const err = JSON.parse(text) as { reason?: string; message?: string };
    reason = [err.reason, err.message].filter(Boolean).join(': ');
  } catch {
    reason = text.slice(0, 200);
  }
  const message = `${what} answered ${status}${reason ? ` (${reason})` : ''}`;
  if (status === 429) {
    const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    return ApplicationFailure.create({
      type: TmfFailure.RateLimited,
      message,
      nonRetryable: false,
      nextRetryDelay: Number.isFinite(seconds) && seconds > 0 ? `${seconds}s` : undefined,
    });
  }
  if (status >= 500 || status === 408 || status === 409) {
    return ApplicationFailure.create({ type: TmfFailure.ServerError, message, nonRetryable: false });
  }
  const type = status === 401 || status === 403 ? TmfFailure.Unauthorized : status === 404 ? TmfFailure.NotFound : TmfFailure.Rejected;
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
