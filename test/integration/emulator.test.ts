/** The SNOW emulator over real HTTP, driven both raw (undici) and through our TMF client. */
import { request } from 'undici';
import { TmfClient, TmfFailure } from '../../src/activities/tmfClient';
import { toServiceProblem } from '../../src/domain/serviceProblem';
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

it('rejects a POST missing mandatory fields with a 400 naming them', async () => {
  const res = await call('POST', BASE, { category: 'x', priority: 1 });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/description, reason, originatorParty/);
  expect(emu.problems.size).toBeGreaterThanOrEqual(0);
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
