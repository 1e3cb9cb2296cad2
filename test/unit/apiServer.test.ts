/**
 * The API's own answers where no backend is needed or none is reachable (requests injected, no
 * socket): /readyz names what failed, a dead backend is a 503 with Retry-After, not a 500, and a bad
 * token is refused before anything else runs. The routes against real servers are in
 * test/integration/api.test.ts.
 */
import { loadTokens } from '../../src/api/auth';
import { buildApi } from '../../src/api/server';

const TOKEN = 'unit-admin-token-0123456789';

async function deadApi() {
  const { tokens } = loadTokens({ SLM_API_TOKEN: TOKEN, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: '/nonexistent' }, { devToken: false });
  const calls: string[] = [];
  const app = await buildApi({
    ports: {
      temporal: async () => {
        calls.push('temporal');
        throw new Error('cannot reach Temporal at 127.0.0.1:1: connect ECONNREFUSED');
      },
      db: async () => {
        calls.push('db');
        throw new Error('connect ECONNREFUSED 127.0.0.1:2');
      },
      settings: { SLM_TASK_QUEUE: 'slm', TMF_TASK_QUEUE: 'tmf' },
    },
    tokens,
    maxInflight: 10,
    maxPending: 100,
    idempotencyTtlSeconds: 60,
    log: () => undefined,
  });
  return { app, calls };
}

it('says which backend is unreachable on /readyz (503), while /healthz is up', async () => {
  const { app } = await deadApi();
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  expect(ready.statusCode).toBe(503);
  expect(ready.json()).toEqual({
    status: 'not ready',
    temporal: 'unreachable: cannot reach Temporal at 127.0.0.1:1: connect ECONNREFUSED',
    database: 'unreachable: connect ECONNREFUSED 127.0.0.1:2',
  });
  expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
  await app.close();
});

it('answers 503 with Retry-After when a backend is down, not 500', async () => {
  const { app } = await deadApi();
  const r = await app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(r.statusCode).toBe(503);
  expect(r.headers['retry-after']).toBe('5');
  expect(r.json<{ error: string }>().error).toMatch(/^a backend is unavailable: /);
  await app.close();
});

it('refuses a bad token before reading the body or calling Temporal', async () => {
  const { app, calls } = await deadApi();
  const r = await app.inject({
    method: 'POST',
    url: '/v1/tickets',
    headers: { authorization: 'Bearer nope-nope-nope-nope', 'content-type': 'application/json' },
    payload: '{not json',
  });
  expect(r.statusCode).toBe(401);
  expect(r.json()).toEqual({ error: 'unauthorized: unknown token' });
  // (The outbox's forwarder polls the database on its own; the request itself reached nothing.)
  expect(calls.filter((c) => c === 'temporal')).toEqual([]);
  await app.close();
});
