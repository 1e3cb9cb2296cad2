/**
 * A SNOW-style TMF656/TMF642 server for development, demos, tests and benchmarks (DESIGN §4.5).
 * TMF bodies under the seed's base paths, ServiceNow conventions for queries (`sysparm_query`),
 * paging and `sys_updated_on`, HTTP Basic auth, and TMF error bodies.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sysTime } from '../domain/snow/problemSync';
import { TMF656_NOT_PATCHABLE } from '../domain/snow/serviceProblem';
import { matchesEncodedQuery, orderByOf } from './encodedQuery';
import { parseFaults, randomSource, type Faults } from './faults';

export type { Faults };

export interface EmulatorOptions {
  host?: string;
  port?: number;
  username: string;
  password: string;
  problemPath?: string;
  alarmPath?: string;
  /** Faults in force from the start (see faults.ts); `latencyMs` alone is a shorthand. */
  faults?: Partial<Faults>;
  latencyMs?: number;
  /** When set, what the emulator holds is kept in this JSON file across restarts. */
  stateFile?: string;
}

export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  query: string;
  status: number;
  body: unknown;
}

export interface Emulator {
  url: string;
  port: number;
  problems: Map<string, Record<string, unknown>>;
  alarms: Map<string, Record<string, unknown>>;
  requests: RequestLogEntry[];
  faults: Faults;
  /** API requests being answered now, and the most at once since start (SNOW's view of a client's concurrency). */
  concurrency: { inFlight: number; peak: number };
  close(): Promise<void>;
}

/** TMF656 v4 rules (specs/tmf/docs/TMF656_Service_Problem.rules.yaml). */
const PROBLEM_MANDATORY = ['category', 'priority', 'description', 'reason', 'originatorParty'] as const;
const PROBLEM_STATUSES = ['acknowledged', 'rejected', 'pending', 'held', 'inProgress', 'resolved', 'cancelled', 'closed'];
/** TMF642 v4 mandatory fields on POST. */
const ALARM_MANDATORY = ['alarmType', 'perceivedSeverity', 'probableCause', 'alarmedObject', 'sourceSystemId', 'state', 'alarmRaisedTime'] as const;
const MAX_BODY = 1 << 20;
/** The request log keeps the newest entries only, so a long-running emulator does not grow without bound. */
const MAX_LOGGED_REQUESTS = 100_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly reason: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function normalizeBase(p: string): string {
  const withSlash = p.startsWith('/') ? p : '/' + p;
  return withSlash.endsWith('/') ? withSlash : withSlash + '/';
}

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const problemBase = normalizeBase(opts.problemPath ?? 'gstm/dataminer/tmf/api/v1/tmf656/');
  const alarmPath = normalizeBase(opts.alarmPath ?? 'gstm/dataminer/tmf/api/v1/tmf642/alarm').replace(/\/$/, '');
  const expectedAuth = Buffer.from('Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64'));
  const problems = new Map<string, Record<string, unknown>>();
  const alarms = new Map<string, Record<string, unknown>>();
  const requests: RequestLogEntry[] = [];
  const faults: Faults = parseFaults({ ...opts.faults, ...(opts.latencyMs ? { latencyMs: opts.latencyMs } : {}) });
  let random = randomSource(faults.seed);
  const sockets = new Set<Socket>();
  let sequence = 10000;
  let baseUrl = '';

  if (opts.stateFile && fs.existsSync(opts.stateFile)) {
    const saved = JSON.parse(fs.readFileSync(opts.stateFile, 'utf8')) as {
      sequence: number;
      problems: Record<string, unknown>[];
      alarms: Record<string, unknown>[];
    };
    sequence = saved.sequence;
    for (const p of saved.problems) problems.set(String(p.id), p);
    for (const a of saved.alarms) alarms.set(String(a.id), a);
  }
  let saveTimer: NodeJS.Timeout | null = null;
  const saveNow = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    if (!opts.stateFile) return;
    const tmp = opts.stateFile + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify({ sequence, problems: [...problems.values()], alarms: [...alarms.values()] }));
    fs.renameSync(tmp, opts.stateFile);
  };
  const scheduleSave = () => {
    if (opts.stateFile && !saveTimer) saveTimer = setTimeout(saveNow, 200);
  };

  const authorized = (req: http.IncomingMessage) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expectedAuth.length && timingSafeEqual(given, expectedAuth);
  };

  async function handleApi(method: string, path: string, query: URLSearchParams, body: unknown): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const problemCollection = problemBase + 'serviceProblem';
    if (path === problemCollection) {
      if (method === 'POST') return { status: 201, body: createProblem(body) };
      if (method === 'GET') return listProblems(query);
      throw new HttpError(405, '405', 'Method Not Allowed', `${method} is not allowed on serviceProblem`);
    }
    if (path.startsWith(problemCollection + '/')) {
      const id = decodeURIComponent(path.slice(problemCollection.length + 1));
      const found = problems.get(id);
      if (!found) throw new HttpError(404, '404', 'Not Found', `no serviceProblem with id ${id}`);
      if (method === 'GET') return { status: 200, body: found };
      if (method === 'PATCH') return { status: 200, body: patchProblem(found, body) };
      throw new HttpError(405, '405', 'Method Not Allowed', `${method} is not allowed on serviceProblem/{id}`);
    }
    if (path === alarmPath) {
      if (method === 'POST') return { status: 201, body: createAlarm(body) };
      if (method === 'GET') {
        // TMF attribute filtering: ?attribute=value on top-level fields.
        const filters = [...query.entries()].filter(([k]) => !['fields', 'offset', 'limit'].includes(k));
        const found = [...alarms.values()].filter((a) => filters.every(([k, v]) => String(a[k] as string | number) === v));
        return { status: 200, body: found, headers: { 'x-total-count': String(found.length) } };
      }
      throw new HttpError(405, '405', 'Method Not Allowed', `${method} is not allowed on alarm`);
    }
    if (path.startsWith(alarmPath + '/') && method === 'GET') {
      const found = alarms.get(decodeURIComponent(path.slice(alarmPath.length + 1)));
      if (!found) throw new HttpError(404, '404', 'Not Found', 'no alarm with that id');
      return { status: 200, body: found };
    }
    throw new HttpError(404, '404', 'Not Found', `no resource at ${path}`);
  }

  function requireObject(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, '400', 'Bad Request', 'request body must be a JSON object');
    }
    return body as Record<string, unknown>;
  }

  function checkPriority(value: unknown) {
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10) {
      throw new HttpError(400, '400', 'Bad Request', 'priority must be an integer from 1 (highest) to 10 (lowest)');
    }
  }

  function checkStatus(value: unknown) {
    if (value !== undefined && !PROBLEM_STATUSES.includes(value as string)) {
      throw new HttpError(400, '400', 'Bad Request', `status must be one of ${PROBLEM_STATUSES.join(', ')}`);
    }
  }

  function createProblem(raw: unknown) {
    const body = requireObject(raw);
    const missing = PROBLEM_MANDATORY.filter((f) => body[f] === undefined || body[f] === null || body[f] === '');
    if (missing.length) throw new HttpError(400, '400', 'Missing mandatory field', `missing mandatory field(s): ${missing.join(', ')}`);
    const party = body.originatorParty as Record<string, unknown>;
    if (typeof party !== 'object' || !party.id || !party['@referredType']) {
      throw new HttpError(400, '400', 'Missing mandatory field', 'originatorParty requires id and @referredType');
    }
    checkPriority(body.priority);
    checkStatus(body.status);
    const id = randomBytes(16).toString('hex');
    const now = Date.now();
    sequence += 1;
    const record = {
      ...body,
      id,
      href: `${baseUrl}${problemBase}serviceProblem/${id}`,
      number: `PRB${String(sequence).padStart(7, '0')}`,
      link: `${baseUrl}/nav_to.do?uri=problem.do?sys_id=${id}`,
      status: body.status ?? 'acknowledged',
      timeRaised: new Date(now).toISOString(),
      u_source: 'dataminer',
      sys_created_on: sysTime(now),
      sys_updated_on: sysTime(now),
    };
    problems.set(id, record);
    return record;
  }

  function patchProblem(found: Record<string, unknown>, raw: unknown) {
    const body = requireObject(raw);
    const forbidden = Object.keys(body).filter((k) => TMF656_NOT_PATCHABLE.includes(k));
    if (forbidden.length) throw new HttpError(400, '400', 'Non-patchable attribute', `attribute(s) not patchable: ${forbidden.join(', ')}`);
    if ('priority' in body) checkPriority(body.priority);
    checkStatus(body.status);
    const now = Date.now();
    const merged: Record<string, unknown> = { ...found };
    for (const [k, v] of Object.entries(body)) {
      // JSON merge-patch: null removes the attribute.
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    merged.sys_updated_on = sysTime(now);
    if (body.status === 'resolved' && !found.resolutionDate) merged.resolutionDate = new Date(now).toISOString();
    problems.set(String(found.id), merged);
    return merged;
  }

  function listProblems(query: URLSearchParams) {
    const q = query.get('sysparm_query') ?? '';
    const limit = Math.min(Math.max(Number(query.get('sysparm_limit') ?? query.get('limit') ?? 1000) || 1000, 1), 10000);
    const offset = Math.max(Number(query.get('sysparm_offset') ?? query.get('offset') ?? 0) || 0, 0);
    const all = [...problems.values()].filter((p) => matchesEncodedQuery(p, q));
    for (const { field, descending } of orderByOf(q).reverse()) {
      const key = (p: Record<string, unknown>) => {
        const v = p[field];
        return typeof v === 'string' ? v : JSON.stringify(v ?? '');
      };
      all.sort((a, b) => (descending ? key(b).localeCompare(key(a)) : key(a).localeCompare(key(b))));
    }
    const page = all.slice(offset, offset + limit);
    // ServiceNow paging: a Link header with first/prev/next/last.
    const link = (o: number, rel: string) => {
      const u = new URLSearchParams(query);
      u.set('sysparm_offset', String(o));
      u.set('sysparm_limit', String(limit));
      return `<${baseUrl}${problemBase}serviceProblem?${u.toString()}>;rel="${rel}"`;
    };
    const links = [link(0, 'first')];
    if (offset > 0) links.push(link(Math.max(0, offset - limit), 'prev'));
    if (offset + limit < all.length) links.push(link(offset + limit, 'next'));
    links.push(link(Math.max(0, Math.floor((all.length - 1) / limit) * limit), 'last'));
    return { status: 200, body: page, headers: { 'x-total-count': String(all.length), 'x-result-count': String(page.length), link: links.join(',') } };
  }

  function createAlarm(raw: unknown) {
    const body = requireObject(raw);
    const missing = ALARM_MANDATORY.filter((f) => body[f] === undefined || body[f] === null || body[f] === '');
    if (missing.length) throw new HttpError(400, '400', 'Missing mandatory field', `missing mandatory field(s): ${missing.join(', ')}`);
    // TMF642 v4 types an alarm's id as an integer.
    const id = alarms.size + 1;
    const record = { ...body, id, href: `${baseUrl}${alarmPath}/${id}`, sys_updated_on: sysTime(Date.now()) };
    alarms.set(String(id), record);
    return record;
  }

  function handleControl(method: string, path: string, query: URLSearchParams, body: unknown): { status: number; body: unknown } {
    if (method === 'GET' && path === '/_emulator/problems') return { status: 200, body: [...problems.values()] };
    if (method === 'GET' && path === '/_emulator/alarms') return { status: 200, body: [...alarms.values()] };
    if (method === 'GET' && path === '/_emulator/requests') {
      // `?from=N`: the log from its N-th entry on, for a client that follows it as it grows.
      const from = Number(query.get('from') ?? 0);
      if (!Number.isInteger(from) || from < 0) throw new HttpError(400, '400', 'Bad Request', `from must be a whole number ≥ 0, got "${query.get('from')}"`);
      return { status: 200, body: requests.slice(from) };
    }
    if (method === 'GET' && path === '/_emulator/concurrency') return { status: 200, body: concurrency };
    if (method === 'GET' && path === '/_emulator/faults') return { status: 200, body: faults };
    if (method === 'PUT' && path === '/_emulator/faults') {
      let next: Faults;
      try {
        next = parseFaults(requireObject(body));
      } catch (err) {
        throw new HttpError(400, '400', 'Bad Request', (err as Error).message);
      }
      Object.assign(faults, next);
      random = randomSource(faults.seed);
      // Answer first, then stop listening: the caller learns the faults took effect.
      if (faults.refuseForMs > 0) setTimeout(() => refuse(faults.refuseForMs), 0);
      return { status: 200, body: faults };
    }
    throw new HttpError(404, '404', 'Not Found', `no control endpoint ${method} ${path}`);
  }

  const concurrency = { inFlight: 0, peak: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const api = !(req.url ?? '').startsWith('/_emulator/');
      if (api) concurrency.peak = Math.max(concurrency.peak, ++concurrency.inFlight);
      void respond(req, res, Buffer.concat(chunks).toString('utf8'), size > MAX_BODY).finally(() => {
        if (api) concurrency.inFlight--;
      });
    });
  });

  async function respond(req: http.IncomingMessage, res: http.ServerResponse, text: string, tooLarge: boolean) {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const control = url.pathname.startsWith('/_emulator/');
    let status: number;
    let payload: unknown;
    let headers: Record<string, string> = {};
    let parsed: unknown;
    try {
      if (tooLarge) throw new HttpError(413, '413', 'Payload Too Large', `request body over ${MAX_BODY} bytes`);
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new HttpError(400, '400', 'Bad Request', 'request body is not valid JSON');
        }
      }
      if (control) {
        ({ status, body: payload } = handleControl(method, url.pathname, url.searchParams, parsed));
      } else {
        if (!authorized(req)) throw new HttpError(401, '401', 'Unauthorized', 'valid Basic credentials are required', { 'www-authenticate': 'Basic realm="SNOW"' });
        const delay = faults.latencyMs + (faults.spikeRate > 0 && random() < faults.spikeRate ? faults.spikeMs : 0);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (faults.rateLimitRate > 0 && random() < faults.rateLimitRate) {
          throw new HttpError(429, '429', 'Too Many Requests', 'rate limit exceeded', {
            'retry-after': String(faults.retryAfterSeconds),
            'x-ratelimit-limit': '100',
            'x-ratelimit-remaining': '0',
          });
        }
        if (faults.errorRate > 0 && random() < faults.errorRate) throw new HttpError(503, '503', 'Service Unavailable', 'injected server error');
        ({ status, body: payload, headers = {} } = await handleApi(method, url.pathname, url.searchParams, parsed));
        if ((method === 'POST' || method === 'PATCH') && status < 300 && faults.dropRate > 0 && random() < faults.dropRate) {
          // Commit-then-drop: the change is applied, the answer never arrives.
          requests.push({ at: new Date().toISOString(), method, path: url.pathname, query: url.search, status: 0, body: parsed ?? null });
          scheduleSave();
          req.socket.destroy();
          return;
        }
      }
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, '500', 'Internal Server Error', (err as Error).message);
      status = e.status;
      headers = e.headers;
      payload = { code: e.code, reason: e.reason, message: e.message, status: String(e.status), referenceError: 'TMF630' };
    }
    if (!control) {
      if (method !== 'GET' && status < 300) scheduleSave();
      requests.push({ at: new Date().toISOString(), method, path: url.pathname, query: url.search, status, body: parsed ?? null });
      if (requests.length > MAX_LOGGED_REQUESTS) requests.splice(0, requests.length - MAX_LOGGED_REQUESTS);
    }
    const out = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(out), ...headers });
    res.end(out);
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let refusing: NodeJS.Timeout | null = null;
  /** Stops listening and drops open connections for `ms`, then listens on the same port again. */
  function refuse(ms: number) {
    if (refusing) return;
    server.close();
    for (const s of sockets) s.destroy();
    refusing = setTimeout(() => {
      refusing = null;
      faults.refuseForMs = 0;
      server.listen(port, host);
    }, ms);
  }

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8480, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const port = addr.port;
  baseUrl = `http://${host}:${port}`;
  return {
    url: baseUrl,
    port: addr.port,
    problems,
    alarms,
    requests,
    faults,
    concurrency,
    close: () =>
      new Promise<void>((resolve) => {
        saveNow();
        if (refusing) {
          clearTimeout(refusing);
          refusing = null;
          for (const s of sockets) s.destroy();
          return resolve();
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
