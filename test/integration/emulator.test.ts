/** The SNOW emulator over real HTTP, driven both raw (undici) and through our TMF client. */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { request } from 'undici';
import { TmfClient, TmfFailure } from '../../src/clients/tmf';
import { toAlarm } from '../../src/domain/snow/alarm';
import { toServiceProblem } from '../../src/domain/snow/serviceProblem';
import { matchesEncodedQuery } from '../../src/emulator/encodedQuery';
import type { Emulator } from '../../src/emulator/server';
import { SNOW, startTestEmulator } from '../support/harness';

let emu: Emulator;
let client: TmfClient;
const BASE = '/gstm/dataminer/tmf/api/v1/tmf656/serviceProblem';
const auth = 'Basic ' + Buffer.from(`${SNOW.username}:${SNOW.password}`).toString('base64');

beforeAll(async () => {
  emu = await startTestEmulator();
  client = new TmfClient({
    baseUrl: emu.url,
    problemPath: 'gstm/dataminer/tmf/api/v1/tmf656/',
    alarmPath: 'gstm/dataminer/tmf/api/v1/tmf642/alarm',
    username: SNOW.username,
    password: SNOW.password,
    timeoutMs: 5000,
    connections: 5,
  });
});
afterAll(async () => {
  await client.close();
  await emu.close();
});

async function call(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = { authorization: auth }) {
  const res = await request(emu.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> & Record<string, unknown>[] };
}

it('creates a problem with id, incident number, link and ServiceNow sys_updated_on', async () => {
  const ref = await client.createProblem(toServiceProblem({ id: 'EM-1', priority: 2, state: 'New' }));
  expect(ref.id).toMatch(/^[0-9a-f]{32}$/);
  expect(ref.incidentNumber).toMatch(/^PRB\d{7}$/);
  expect(ref.link).toContain(ref.id);
  const got = await client.getProblem(ref.id);
  expect(got.sys_updated_on).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  expect(got.status).toBe('acknowledged');
});

it('answers 401 with a TMF error body without valid Basic credentials', async () => {
  const res = await call('GET', BASE, undefined, { authorization: 'Basic ' + Buffer.from('x:y').toString('base64') });
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ code: '401', reason: 'Unauthorized', status: '401' });
});

it('rejects a POST missing mandatory fields with a 400 naming them, and stores nothing', async () => {
  const before = emu.problems.size;
  const res = await call('POST', BASE, { category: 'x', priority: 1 });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/description, reason, originatorParty/);
  expect(emu.problems.size).toBe(before);
});

it('rejects a PATCH of non-patchable attributes and leaves the problem unchanged', async () => {
  const ref = await client.createProblem(toServiceProblem({ id: 'EM-2', priority: 3, state: 'New' }));
  const res = await call('PATCH', `${BASE}/${ref.id}`, { id: 'other', status: 'resolved' });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/not patchable: id/);
  expect((await client.getProblem(ref.id)).status).toBe('acknowledged');
});

it('filters lists with sysparm_query and reports X-Total-Count', async () => {
  const ref = await client.createProblem(toServiceProblem({ id: 'EM-3', priority: 1, state: 'New' }));
  const byCorrelation = await client.queryProblems('correlationId=ticket:EM-3');
  expect(byCorrelation.map((p) => p.id)).toEqual([ref.id]);
  const since = await call('GET', `${BASE}?sysparm_query=${encodeURIComponent('u_source=dataminer^sys_updated_on>=2000-01-01 00:00:00')}`);
  expect(Number(since.headers['x-total-count'])).toBe(emu.problems.size);
  const future = await call('GET', `${BASE}?sysparm_query=${encodeURIComponent('u_source=dataminer^sys_updated_on>=2999-01-01 00:00:00')}`);
  expect(future.body).toEqual([]);
});

it('maps HTTP failures to typed Temporal failures: 4xx final, 404 typed', async () => {
  await expect(client.patchProblem('nope', { status: 'resolved' })).rejects.toMatchObject({ type: TmfFailure.NotFound, nonRetryable: true });
  await expect(client.createProblem({} as never)).rejects.toMatchObject({ type: TmfFailure.Rejected, nonRetryable: true });
});

it('adds the configured latency to API answers', async () => {
  await request(emu.url + '/_emulator/faults', { method: 'PUT', body: JSON.stringify({ latencyMs: 150 }) }).then((r) => r.body.dump());
  const t = Date.now();
  await client.queryProblems('u_source=dataminer', 1);
  expect(Date.now() - t).toBeGreaterThanOrEqual(140);
  await request(emu.url + '/_emulator/faults', { method: 'PUT', body: '{}' }).then((r) => r.body.dump());
});

it('follows its request log from an index, and reports how many requests it answers at once', async () => {
  const all = (await call('GET', '/_emulator/requests')).body;
  const tail = (await call('GET', `/_emulator/requests?from=${all.length - 1}`)).body;
  expect(tail).toEqual(all.slice(-1));
  expect((await call('GET', '/_emulator/requests?from=-1')).status).toBe(400);

  await request(emu.url + '/_emulator/faults', { method: 'PUT', body: JSON.stringify({ latencyMs: 200 }) }).then((r) => r.body.dump());
  try {
    const before = (await call('GET', '/_emulator/concurrency')).body as unknown as { inFlight: number; peak: number };
    expect(before.inFlight).toBe(0);
    const three = Promise.all([1, 2, 3].map(() => client.queryProblems('u_source=dataminer', 1)));
    await new Promise((r) => setTimeout(r, 100));
    expect((await call('GET', '/_emulator/concurrency')).body).toMatchObject({ inFlight: 3 });
    await three;
    expect((await call('GET', '/_emulator/concurrency')).body).toEqual({ inFlight: 0, peak: Math.max(3, before.peak) });
  } finally {
    await request(emu.url + '/_emulator/faults', { method: 'PUT', body: '{}' }).then((r) => r.body.dump());
  }
});

it('logs requests without credentials', async () => {
  const res = await request(emu.url + '/_emulator/requests');
  const text = await res.body.text();
  expect(text).toContain('"method":"POST"');
  expect(text).not.toContain(SNOW.password);
  expect(text).not.toContain(auth);
});

describe('encoded queries', () => {
  const rec = { a: 'x', n: '5', sys_updated_on: '2026-03-02 10:00:00' };
  it.each([
    ['a=x', true],
    ['a!=x', false],
    ['a=y^ORa=x', true],
    ['a=y^NQn=5', true],
    ['a=x^n=6', false],
    ['sys_updated_on>=2026-03-02 10:00:00', true],
    ['sys_updated_on>2026-03-02 10:00:00', false],
    ['aSTARTSWITHx', true],
    ['nIN4,5,6', true],
    ['missing=1', false],
    ['a=x^ORDERBYn', true],
  ])('%s → %s', (q, expected) => expect(matchesEncodedQuery(rec, q)).toBe(expected));
});

describe('fault injection', () => {
  async function setFaults(body: unknown): Promise<number> {
    const res = await request(emu.url + '/_emulator/faults', { method: 'PUT', body: JSON.stringify(body) });
    await res.body.dump();
    return res.statusCode;
  }
  afterEach(async () => {
    await setFaults({});
  });

  it('answers 503 with a TMF body and applies nothing, which the client retries', async () => {
    await setFaults({ errorRate: 1 });
    const before = emu.problems.size;
    await expect(client.createProblem(toServiceProblem({ id: 'F-503', priority: 2, state: 'New' }))).rejects.toMatchObject({ type: TmfFailure.ServerError, nonRetryable: false });
    expect(emu.problems.size).toBe(before);
  });

  it('answers 429 with Retry-After, which the client turns into its next retry delay', async () => {
    await setFaults({ rateLimitRate: 1, retryAfterSeconds: 7 });
    const res = await call('GET', BASE);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    await expect(client.queryProblems('u_source=dataminer')).rejects.toMatchObject({ type: TmfFailure.RateLimited, nonRetryable: false, nextRetryDelay: '7s' });
  });

  it('commits a POST and then drops the connection', async () => {
    await setFaults({ dropRate: 1 });
    await expect(client.createProblem(toServiceProblem({ id: 'F-DROP', priority: 2, state: 'New' }))).rejects.toMatchObject({ type: TmfFailure.Network });
    await setFaults({});
    expect(await client.queryProblems('correlationId=ticket:F-DROP')).toHaveLength(1);
  });

  it('refuses connections for a while, then listens again', async () => {
    expect(await setFaults({ refuseForMs: 400 })).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    await expect(client.queryProblems('u_source=dataminer', 1)).rejects.toMatchObject({ type: TmfFailure.Network });
    await new Promise((r) => setTimeout(r, 600));
    await expect(client.queryProblems('u_source=dataminer', 1)).resolves.toBeInstanceOf(Array);
  });

  it('rejects bad fault settings with a 400 naming the field', async () => {
    const res = await request(emu.url + '/_emulator/faults', { method: 'PUT', body: JSON.stringify({ errorRate: 2 }) });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { message: string }).message).toMatch(/errorRate/);
  });
});

describe('ServiceNow ordering and paging', () => {
  it('sorts with ORDERBY/ORDERBYDESC and links the pages', async () => {
    for (const id of ['PG-1', 'PG-2', 'PG-3']) await client.createProblem(toServiceProblem({ id, priority: 4, state: 'New', category: 'paging' }));
    const q = encodeURIComponent('category=paging^ORDERBYDESCcorrelationId');
    const first = await call('GET', `${BASE}?sysparm_query=${q}&sysparm_limit=2`);
    expect(first.body.map((p) => p.correlationId)).toEqual(['ticket:PG-3', 'ticket:PG-2']);
    expect(first.headers['x-total-count']).toBe('3');
    const next = /<([^>]+)>;rel="next"/.exec(String(first.headers.link))?.[1];
    expect(next).toBeDefined();
    const second = await call('GET', next!.slice(emu.url.length));
    expect(second.body.map((p) => p.correlationId)).toEqual(['ticket:PG-1']);
    expect(String(second.headers.link)).not.toContain('rel="next"');
  });
});

describe('conformance with the official TMF schemas (ajv)', () => {
  const specs = path.resolve(__dirname, '..', '..', '..', 'shared', 'specs', 'tmf');
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (file: string, id: string) => {
    const doc = JSON.parse(fs.readFileSync(path.join(specs, file), 'utf8')) as Record<string, unknown>;
    ajv.addSchema({ $id: id, definitions: doc.definitions });
  };
  load('TMF656_v4.0.0.swagger.json', 'tmf656');
  load('TMF642_v4.0.0.swagger.json', 'tmf642');
  const check = (ref: string, data: unknown) => {
    const validate = ajv.getSchema(ref)!;
    const ok = validate(data);
    return ok ? 'valid' : ajv.errorsText(validate.errors);
  };

  it('our POST bodies are valid ServiceProblem_Create, and the answers valid ServiceProblem', async () => {
    const body = toServiceProblem({ id: 'AJV-1', priority: 1, state: 'In Progress', category: 'network', deviceIp: '10.0.0.1', tags: ['a'] });
    expect(check('tmf656#/definitions/ServiceProblem_Create', body)).toBe('valid');
    const ref = await client.createProblem(body);
    expect(check('tmf656#/definitions/ServiceProblem', await client.getProblem(ref.id))).toBe('valid');
    // And the checker does reject what the spec rejects.
    expect(check('tmf656#/definitions/ServiceProblem_Create', { ...body, priority: 'high' })).toMatch(/priority/);
  });

  it('our alarm bodies are valid Alarm_Create', () => {
    const body = toAlarm(
      { id: 'AJV-2', priority: 1, state: 'New' },
      'deviceIp',
      '10.0.0.2',
      { id: 'p1', incidentNumber: 'PRB0000001', link: null },
      Date.parse('2026-03-02T09:30:00Z'),
    );
    expect(check('tmf642#/definitions/Alarm_Create', body)).toBe('valid');
  });

  it('answers a TMF642 alarm POST with a valid Alarm', async () => {
    const alarm = {
      alarmType: 'communicationsAlarm',
      perceivedSeverity: 'major',
      probableCause: 'lossOfSignal',
      alarmedObject: { id: '10.0.0.1' },
      sourceSystemId: 'temporal-slm',
      state: 'raised',
      alarmRaisedTime: '2026-03-02T09:30:00Z',
      externalAlarmId: 'ticket:AJV-1',
    };
    expect(check('tmf642#/definitions/Alarm_Create', alarm)).toBe('valid');
    const res = await call('POST', '/gstm/dataminer/tmf/api/v1/tmf642/alarm', alarm);
    expect(res.status).toBe(201);
    expect(check('tmf642#/definitions/Alarm', res.body)).toBe('valid');
  });
});
