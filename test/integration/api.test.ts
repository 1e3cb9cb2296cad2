/**
 * The HTTP API (DESIGN §4.9) against `npm start`'s real stack in its own process (dev server,
 * PostgreSQL, emulator, workers, API): tokens and roles, ingest (snapshots, merge patches, arrays,
 * Idempotency-Key, stale deliveries, 429), the two shipped source mappings with their systems'
 * documented webhook bodies, tenancy, definitions, the reads the CLI has (one table asserts both
 * front ends give identical bodies), bad input, health, the OpenAPI document, JSON logs, and
 * `/metrics` scraped by a real Prometheus.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- JSON bodies from the wire, checked by expect() */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import YAML from 'yaml';
import { ensurePrometheus, startPrometheus } from '../../src/infra/prometheus';
import { freePort } from '../../src/infra/process';
import { freshStack, startEmbedded, stop, type Started } from '../support/embedded';
import { eventually, ROOT, runCli } from '../support/harness';
import { startWebhookReceiver } from '../support/catchers';

const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  ingest: 'ingest-token-0123456789abcdef',
  read: 'read-token-0123456789abcdef01',
  acme: 'acme-tenant-token-0123456789ab',
  globex: 'globex-tenant-token-012345678',
  zammad: 'zammad-source-token-012345678',
};
const BAD_TOKEN = 'Bad-Token-Never-Logged-5550123';

let stack: Started;
let base: string;
let cliEnv: Record<string, string>;
let temporal: Client;
let connection: Connection;
let dataDir: string;
let apiPort: number;
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * A body the server refuses on its Content-Length (413) before reading it: the client announces the
 * whole body, sends its first 64 KiB and reads the answer (a sender that kept writing would meet a
 * closed connection once the answer is out).
 */
function postLarge(url: string, token: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.write(body.slice(0, 64 * 1024));
  });
}

async function call(method: string, url: string, opts: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  const token = opts.token === undefined ? TOKENS.admin : opts.token;
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers };
  let body: string | Buffer | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const r = await request(`${base}${url}`, { method: method as 'GET', headers, body });
  const text = await r.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'webhooks', name), 'utf8')) as Record<string, any>;

async function signalsOf(workflowId: string): Promise<number> {
  const h = await temporal.workflow.getHandle(workflowId).fetchHistory();
  return (h.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

async function exists(workflowId: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const fresh = await freshStack('slm-api-');
  dataDir = fresh.dataDir;
  apiPort = fresh.ports.api;
  cliEnv = fresh.cliEnv;
  const defs = YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'definitions.yaml'), 'utf8')) as Record<string, any>;
  defs.tenantField = 'company';
  // A mapping that fails on some payloads (state given as text instead of an object).
  defs.sources.push({ name: 'brittle', fields: { id: 'body.id', state: 'body.state.name' } });
  // A goal from the ticket: a due instant seconds away, so a timer fires during the suite (its lateness is a metric).
  defs.serviceTargets.push({ id: 'soon', appliesTo: 'ticket.bench == "soon"', stop: 'ticket.state == "Closed"', goal: { fromField: 'dueAt' } });
  // Agreements (DESIGN §4.8): one per customer's contract, and a tight one on a round-the-clock web target.
  hooks = await startWebhookReceiver();
  // Down for more than 5 s in a day gives 0 (maxDownTime): the crossing instant does not depend on the time of day.
  defs.serviceTargets.push({ id: 'web-247', type: 'availability', appliesTo: 'ci.class == "web247"', goal: { maxDownTime: '5s' } });
  defs.contracts = [
    { id: 'acme', customer: 'ACME Corp', tenant: 'acme' },
    { id: 'globex', customer: 'Globex', tenant: 'globex' },
  ];
  const gold = (id: string, contract: string) => ({
    id,
    contract,
    reviewPeriods: ['monthly'],
    timezone: 'Europe/Berlin',
    compliance: { target: 95, atRisk: 97 },
    targets: [{ serviceTarget: 'P1-response', weight: 1 }],
    penalties: [{ below: 95, amount: 1000 }],
  });
  defs.agreements = [
    gold('acme-gold', 'acme'),
    gold('globex-gold', 'globex'),
    {
      id: 'web-watch',
      reviewPeriods: ['daily'],
      compliance: { target: 99.99 },
      targets: [{ serviceTarget: 'web-247', weight: 1 }],
      milestones: [{ name: 'breach', at: 'breached', actions: [{ notify: { webhook: `${hooks.url}/breach` } }] }],
    },
  ];
  fs.writeFileSync(path.join(dataDir, 'definitions.yaml'), YAML.stringify(defs));
  fs.writeFileSync(
    path.join(dataDir, 'tokens.yaml'),
    YAML.stringify([
      { name: 'ops', token: TOKENS.admin, role: 'admin' },
      { name: 'feeder', token: TOKENS.ingest, role: 'ingest' },
      { name: 'viewer', token: TOKENS.read, role: 'read' },
      { name: 'acme', token: TOKENS.acme, role: 'admin', tenant: 'acme' },
      { name: 'globex', token: TOKENS.globex, role: 'ingest', tenant: 'globex' },
      { name: 'zammad-hook', token: TOKENS.zammad, role: 'ingest', source: 'zammad' },
    ]),
  );
  stack = startEmbedded({
    ...fresh.vars,
    SLM_DEFINITIONS: path.join(dataDir, 'definitions.yaml'),
    SLM_API_TOKENS_FILE: path.join(dataDir, 'tokens.yaml'),
    SLM_API_MAX_INFLIGHT: '4',
    SLM_API_MAX_PENDING: '50',
    SLM_LOG_FORMAT: 'json',
    LOG_LEVEL: 'INFO',
  });
  await eventually(async () => (stack.output().includes('ready in') ? true : undefined), 120000, `embedded start (output: ${stack.output()})`);
  base = `http://127.0.0.1:${apiPort}`;
  // A busy machine may be slow to answer the first connection; if the stack died instead, say how, with its output.
  connection = await Connection.connect({ address: `127.0.0.1:${fresh.ports.temporal}`, connectTimeout: 30_000 }).catch((err: Error) => {
    const how = stack.child.exitCode === null ? 'still runs' : `exited with ${stack.child.exitCode}`;
    throw new Error(`${err.message} (Temporal of the embedded stack, which ${how}); its output:\n${stack.output()}`);
  });
  temporal = new Client({ connection });
}, 180000);

afterAll(async () => {
  await hooks?.close();
  await connection?.close();
  if (stack) expect(await stop(stack)).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 120000);

describe('configuration items and KPI samples (DESIGN §4.7)', () => {
  it('takes CI snapshots and KPI samples; reads give exactly the CLI documents', async () => {
    const cis = await call('POST', '/v1/cis', {
      token: TOKENS.ingest,
      body: [
        { id: 'api-web-1', class: 'web', status: 'up' },
        { id: 'api-db-1', class: 'db' },
      ],
    });
    expect(cis.status).toBe(202);
    expect(cis.json.accepted.map((a: any) => a.workflowId)).toEqual(['ci:api-web-1', 'ci:api-db-1']);
    const attached: string = await eventually(
      async () => {
        const m = (await call('GET', '/v1/cis/api-db-1')).json?.measurements?.[0];
        return m?.serviceTargetId === 'db-latency' ? m.startedAt : undefined;
      },
      30000,
      'api-db-1 measured',
    );
    // Measured after the CI attached, 100 ms apart, sent at once once they are all past.
    const t0 = Date.parse(attached) + 500;
    const samples = Array.from({ length: 20 }, (_, i) => ({ ci: 'api-db-1', name: 'latency_ms', value: i === 10 ? 800 : 40, at: new Date(t0 + i * 100).toISOString() }));
    while (Date.now() < t0 + 2100) await new Promise((r) => setTimeout(r, 50));
    const pushed = await call('POST', '/v1/kpis', { token: TOKENS.ingest, body: { samples } });
    expect(pushed.status).toBe(202);
    expect(pushed.json).toMatchObject({ accepted: 20, stale: 0, cis: 1 });
    expect(pushed.json.forwarded).toBeLessThan(20);
    const doc = await eventually(
      async () => {
        const d = await call('GET', '/v1/cis/api-db-1');
        return d.json.measurements[0].segments.some((x: any) => x.state === 'alarm') ? d.json : undefined;
      },
      30000,
      'alarm segment',
    );
    const cli = JSON.parse((await runCli(['ci', 'show', 'api-db-1', '--json'], { env: cliEnv })).stdout);
    expect(cli.measurements.map((m: any) => m.segments)).toEqual(doc.measurements.map((m: any) => m.segments));
    const list = await call('GET', '/v1/cis?filter=api-&sort=id');
    expect(JSON.parse((await runCli(['cis', 'list', '--json', '--filter', 'api-', '--sort', 'id'], { env: cliEnv })).stdout)).toEqual(list.json);
    expect(list.json.cis.map((c: any) => c.ciId)).toEqual(['api-db-1', 'api-web-1']);
  });

  it('refuses a push with a non-numeric value whole, naming the sample; 100,000 samples in one request are 413', async () => {
    const bad = await call('POST', '/v1/kpis', {
      token: TOKENS.ingest,
      body: [
        { ci: 'api-db-2', name: 'latency_ms', value: 1 },
        { ci: 'api-db-2', name: 'latency_ms', value: 'fast' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^invalid samples\[1\]: value: expected a number or a status/);
    expect(await exists('ci:api-db-2')).toBe(false);
    const future = await call('POST', '/v1/kpis', { token: TOKENS.ingest, body: [{ ci: 'api-db-2', name: 'latency_ms', value: 1, at: '2030-01-01T00:00:00Z' }] });
    expect(future.status).toBe(400);
    expect(future.json.error).toMatch(/more than 5 minutes in the future/);
    const huge = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => ({ ci: `huge-${i % 1000}`, name: 'cpu', value: i % 100 })));
    const answer = await postLarge('/v1/kpis', TOKENS.ingest, huge);
    expect(answer.status).toBe(413);
    expect((await call('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it("stamps a tenant token's CIs and refuses another tenant's", async () => {
    expect((await call('POST', '/v1/cis', { token: TOKENS.acme, body: { id: 'acme-web', class: 'web', status: 'up' } })).status).toBe(202);
    const foreign = await call('POST', '/v1/cis', { token: TOKENS.acme, body: { id: 'acme-web-2', class: 'web', company: 'globex' } });
    expect(foreign.status).toBe(403);
    const doc = await eventually(
      async () => {
        const d = await call('GET', '/v1/cis/acme-web', { token: TOKENS.acme });
        return d.status === 200 ? d.json : undefined;
      },
      30000,
      'acme-web stored',
    );
    expect(doc.ci.company).toBe('acme');
    // Another tenant may neither change it nor push samples for it.
    const taken = await call('POST', '/v1/cis', { token: TOKENS.globex, body: { id: 'acme-web', class: 'web', status: 'down' } });
    expect([taken.status, taken.json.error]).toEqual([403, 'forbidden: CI acme-web belongs to another tenant']);
    const samples = await call('POST', '/v1/kpis', { token: TOKENS.globex, body: [{ ci: 'acme-web', name: 'cpu', value: 1 }] });
    expect(samples.status).toBe(403);
  });
});

describe('agreements and compliance (DESIGN §4.8)', () => {
  const p1 = (state: string) => ({ id: 'cmp-a1', priority: 1, state, company: 'acme' });
  const metOf = (doc: any) => doc?.records?.[0]?.targets?.[0]?.met ?? 0;

  it('a measurement closing reaches its agreement’s record at once; the CLI and the API give the same document', async () => {
    expect((await call('POST', '/v1/tickets?wait=true', { token: TOKENS.acme, body: p1('New') })).status).toBe(200);
    expect((await call('POST', '/v1/tickets?wait=true', { token: TOKENS.acme, body: p1('Assigned') })).status).toBe(200);
    // The P1-response measurement is Met now; the record shows it once the compliance run counted it.
    const measured = Date.now();
    const doc = await eventually(
      async () => {
        const d = (await call('GET', '/v1/compliance?agreement=acme-gold')).json;
        return metOf(d) >= 1 ? d : undefined;
      },
      10000,
      'acme-gold counts cmp-a1',
    );
    const latency = Date.now() - measured;
    process.stdout.write(`compliance: ticket measured → record updated in ${latency} ms (through the API, polled)\n`);
    expect(latency).toBeLessThan(2000);
    expect(doc.records[0]).toMatchObject({
      agreementId: 'acme-gold',
      contractId: 'acme',
      reviewPeriod: 'monthly',
      percent: 100,
      status: 'Compliant',
      closed: false,
      penalty: null,
    });
    const cli = await runCli(['compliance', 'show', 'acme-gold', '--json'], { env: cliEnv });
    expect(JSON.parse(cli.stdout)).toEqual((await call('GET', '/v1/compliance?agreement=acme-gold')).json);
    const history = (await call('GET', '/v1/compliance?agreement=acme-gold&history=true')).json;
    expect(history.records).toHaveLength(1);
    expect(history.settlements).toEqual([]);
    // The ticket's exported history, replayed offline, gives the record live processing keeps.
    const out = path.join(dataDir, 'export-cmp-a1');
    expect((await runCli(['ticket', 'export', 'cmp-a1', '--out', out], { env: cliEnv })).code).toBe(0);
    const replayed = await runCli(['compliance', 'replay', '--definitions', path.join(out, 'definitions.json'), '--events', path.join(out, 'events.jsonl')], { env: cliEnv });
    expect(replayed.code).toBe(0);
    const end = JSON.parse(replayed.stdout.trim().split('\n').at(-1)!);
    expect(end.check).toBe('end');
    const offline = end.compliance.find((r: any) => r.agreementId === 'acme-gold');
    expect(offline).toEqual((await call('GET', '/v1/compliance?agreement=acme-gold')).json.records[0]);
  });

  it('a tenant-bound token sees its own agreements and records only (row-level security), through the API and the CLI', async () => {
    const all = (await call('GET', '/v1/agreements', { token: TOKENS.read })).json;
    expect(all.agreements.map((a: any) => a.id)).toEqual(['acme-gold', 'globex-gold', 'web-watch']);
    const acme = (await call('GET', '/v1/agreements', { token: TOKENS.acme })).json;
    expect(acme.agreements.map((a: any) => a.id)).toEqual(['acme-gold']);
    expect(acme.agreements[0]).toMatchObject({ contractId: 'acme', customer: 'ACME Corp', tenant: 'acme' });
    const foreign = await call('GET', '/v1/compliance?agreement=globex-gold', { token: TOKENS.acme });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error).toBe('unknown agreement "globex-gold"');
    expect((await call('GET', '/v1/compliance?agreement=web-watch', { token: TOKENS.acme })).status).toBe(404);
    const cli = await runCli(['compliance', 'show', 'globex-gold', '--tenant', 'acme'], { env: cliEnv });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('unknown agreement "globex-gold"');
    const listed = JSON.parse((await runCli(['agreements', 'list', '--json', '--tenant', 'globex'], { env: cliEnv })).stdout);
    expect(listed.agreements.map((a: any) => a.id)).toEqual(['globex-gold']);
    expect(listed.agreements[0].current.every((r: any) => r.agreementId === 'globex-gold' && r.contractId === 'globex')).toBe(true);
    expect((await call('GET', '/v1/compliance?agreement=acme-gold&period=not-a-date')).status).toBe(400);
  });

  it('exports a period’s records and the measurements behind them as CSV', async () => {
    // The month as the agreement's zone (Europe/Berlin) has it now.
    const month = ((await call('GET', '/v1/compliance?agreement=acme-gold')).json.records[0].periodStart as string).slice(0, 7);
    const r = await call('GET', `/v1/compliance/export?period=${month}&agreement=acme-gold`, { token: TOKENS.acme });
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toContain('text/csv');
    const lines = r.text.trim().split('\n');
    expect(lines[0]).toMatch(/^section,agreementId,contractId,reviewPeriod,periodStart/);
    expect(lines.find((l) => l.startsWith('record,acme-gold,acme,monthly,'))).toContain(',P1-response,1,100,1,0,');
    expect(lines.find((l) => l.startsWith('measurement,acme-gold,acme,monthly,') && l.includes(',cmp-a1,Met,'))).toBeDefined();
    const cli = await runCli(['compliance', 'export', '--period', month, '--agreement', 'acme-gold', '--format', 'csv', '--tenant', 'acme'], { env: cliEnv });
    expect(cli.stdout).toBe(r.text);
  });

  it('a CI staying down crosses the agreement into Breached at the forecast instant, where a durable timer fires the milestone', async () => {
    await call('POST', '/v1/cis', { token: TOKENS.ingest, body: { id: 'cmp-web', class: 'web247', status: 'up' } });
    await eventually(
      async () => ((await call('GET', '/v1/compliance?agreement=web-watch')).json?.records?.[0]?.percent === 100 ? true : undefined),
      20000,
      'web-watch counts cmp-web',
    );
    await call('POST', '/v1/cis', { token: TOKENS.ingest, body: { id: 'cmp-web', class: 'web247', status: 'down' } });
    const forecast = await eventually(
      async () => {
        const f = (await call('GET', '/v1/compliance?agreement=web-watch')).json?.records?.[0]?.forecast;
        return f?.breachedAt ? f : undefined;
      },
      20000,
      'a breach forecast',
    );
    // The CI's down segment began when the down snapshot was applied: the breach is 5 s (and a millisecond) later.
    const downAt = await eventually(async () => {
      const m = (await call('GET', '/v1/cis/cmp-web')).json?.measurements?.[0];
      const seg = m?.segments?.at(-1);
      return seg?.state === 'down' ? Date.parse(seg.startAt) : undefined;
    });
    expect(Date.parse(forecast.breachedAt)).toBe(downAt + 5001);
    const hook = await eventually(async () => hooks.hooks.find((h) => h.path === '/breach'), 30000, 'breach milestone webhook');
    const body = hook.body as any;
    expect(body).toMatchObject({ kind: 'compliance-milestone', agreementId: 'web-watch', milestone: 'breach', reviewPeriod: 'daily' });
    // Fired at the instant forecast, not at a later recalculation.
    expect(body.firedAt).toBe(forecast.breachedAt);
    expect(Date.parse(hook.receivedAt) - Date.parse(forecast.breachedAt)).toBeLessThan(3000);
    expect(body.record.status).toBe('Breached');
    const run = await temporal.workflow.getHandle('compliance').describe();
    expect(run.status.name).toBe('RUNNING');
    expect(run.searchAttributes.SlmBreachedAgreements).toEqual(['web-watch']);
  });
});

describe('operations', () => {
  it('prints the API in the ready banner; /healthz and /readyz answer', async () => {
    expect(stack.output()).toContain(`HTTP API          http://127.0.0.1:${apiPort}`);
    expect(await call('GET', '/healthz', { token: null })).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await call('GET', '/readyz', { token: null })).toMatchObject({ status: 200, json: { status: 'ready', temporal: 'ok', database: 'ok' } });
  });

  it('serves an OpenAPI 3.1 document that a validator accepts, generated from the routes', async () => {
    const doc = await call('GET', '/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toBe('3.1.0');
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining(['/v1/tickets', '/v1/tickets/{id}', '/v1/tickets/{id}/timeline', '/v1/sources/{name}/events', '/v1/definitions', '/v1/sync', '/healthz', '/readyz']),
    );
    // The request schema is the CLI's ticket schema: an object with a required id.
    const post = JSON.stringify(doc.json.paths['/v1/tickets'].post.requestBody);
    const ref = /#\/components\/schemas\/(\w+)/.exec(post)![1]!;
    expect(doc.json.components.schemas[ref]).toMatchObject({ type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 200 } } });
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(doc.json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });
});

describe('authentication', () => {
  it('refuses a missing or unknown token with 401 and a one-line JSON error, a wrong role with 403', async () => {
    const none = await call('POST', '/v1/tickets', { token: null, body: { id: 'AUTH-1' } });
    expect(none).toMatchObject({ status: 401, json: { error: 'unauthorized: no bearer token' } });
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(await call('POST', '/v1/tickets', { token: 'x'.repeat(40), body: { id: 'AUTH-1' } })).toMatchObject({ status: 401, json: { error: 'unauthorized: unknown token' } });
    const readOnly = await call('POST', '/v1/tickets', { token: TOKENS.read, body: { id: 'AUTH-1' } });
    expect(readOnly.status).toBe(403);
    expect(readOnly.json.error).toMatch(/^forbidden: token "viewer" has role read; this needs ingest$/);
    expect(await call('PUT', '/v1/definitions', { token: TOKENS.ingest, body: {} })).toMatchObject({ status: 403 });
    expect(await exists('ticket:AUTH-1')).toBe(false);
  });

  it('answers 1,000 requests with a bad token with 401 each, without touching Temporal or logging the token', async () => {
    const statuses: number[] = [];
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < ids.length) {
          const i = ids[next++]!;
          statuses.push((await call('POST', '/v1/tickets', { token: BAD_TOKEN, body: { id: `BAD-${i}`, state: 'New', priority: 1 } })).status);
        }
      }),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(1000);
    expect(await exists('ticket:BAD-0')).toBe(false);
    expect(await exists('ticket:BAD-999')).toBe(false);
    const metrics = await call('GET', '/metrics', { token: null });
    expect(metrics.text).toMatch(/slm_ingest_requests_total\{route="tickets",outcome="unauthorized"\} (\d+)/);
    expect(Number(/slm_ingest_requests_total\{route="tickets",outcome="unauthorized"\} (\d+)/.exec(metrics.text)![1])).toBeGreaterThanOrEqual(1000);
    expect(stack.output()).not.toContain(BAD_TOKEN);
    expect(stack.output()).not.toContain(TOKENS.admin);
  });
});

describe('ingest', () => {
  it('takes a snapshot (202), which the ticket workflow then measures', async () => {
    const r = await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: { id: 'API-1', priority: 1, state: 'New' } });
    expect(r).toMatchObject({ status: 202, json: { accepted: [{ ticketId: 'API-1', workflowId: 'ticket:API-1' }], stale: [] } });
    const doc = await eventually(async () => {
      const d = await call('GET', '/v1/tickets/API-1', { token: TOKENS.read });
      return d.status === 200 && d.json.measurements.length > 0 ? d.json : undefined;
    });
    expect(doc.measurements.map((m: { serviceTargetId: string }) => m.serviceTargetId).sort()).toEqual(['P1-resolution', 'P1-response']);
  });

  it('?wait=true answers with the measurements; an array applies each', async () => {
    const r = await call('POST', '/v1/tickets?wait=true', {
      token: TOKENS.ingest,
      body: [
        { id: 'API-2', priority: 2, state: 'New' },
        { id: 'API-3', priority: 1, state: 'New' },
      ],
    });
    expect(r.status).toBe(200);
    const byId = Object.fromEntries(r.json.results.map((x: { ticketId: string; measurements: { serviceTargetId: string; status: string }[] }) => [x.ticketId, x.measurements]));
    expect(byId['API-2'].map((m: { serviceTargetId: string }) => m.serviceTargetId)).toEqual(['P2-resolution']);
    expect(byId['API-3'].find((m: { serviceTargetId: string }) => m.serviceTargetId === 'P1-response').status).toBe('InProcess');
  });

  it('merges a JSON merge patch (RFC 7386), with its own media type', async () => {
    await call('POST', '/v1/tickets?wait=true', { token: TOKENS.ingest, body: { id: 'API-4', priority: 1, state: 'New', assignee: 'ann' } });
    const r = await call('PATCH', '/v1/tickets/API-4?wait=true', {
      token: TOKENS.ingest,
      body: { state: 'Assigned', assignee: null },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(r.status).toBe(200);
    expect(r.json.ticket).toEqual({ id: 'API-4', priority: 1, state: 'Assigned' });
    expect(r.json.measurements.find((m: { serviceTargetId: string }) => m.serviceTargetId === 'P1-response').status).toBe('Met');
    const accepted = await call('PATCH', '/v1/tickets/API-4', { token: TOKENS.ingest, body: { note: 'x' } });
    expect(accepted).toMatchObject({ status: 202, json: { accepted: [{ ticketId: 'API-4' }] } });
  });

  it('applies a request retried with the same Idempotency-Key once, and answers it with the first answer', async () => {
    const send = (body: unknown) => call('POST', '/v1/tickets', { token: TOKENS.ingest, body, headers: { 'idempotency-key': 'k-API-5' } });
    const first = await send({ id: 'API-5', priority: 2, state: 'New' });
    const second = await send({ id: 'API-5', priority: 2, state: 'New' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json).toEqual(first.json);
    expect(second.headers['idempotent-replayed']).toBe('true');
    await eventually(async () => ((await exists('ticket:API-5')) ? true : undefined));
    expect(await signalsOf('ticket:API-5')).toBe(1);
    // The same key for another request is refused.
    expect(await send({ id: 'API-5', priority: 1, state: 'New' })).toMatchObject({ status: 422 });
    // Another client's same key is its own.
    expect((await call('POST', '/v1/tickets', { token: TOKENS.admin, body: { id: 'API-5b' }, headers: { 'idempotency-key': 'k-API-5' } })).status).toBe(202);
  });

  it('ignores and reports a snapshot older than the one applied (webhooks arrive out of order)', async () => {
    const newer = await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: { id: 'API-6', priority: 1, state: 'Assigned', updatedAt: '2026-11-30T10:05:00Z' } });
    expect(newer.json.accepted).toHaveLength(1);
    const older = await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: { id: 'API-6', priority: 1, state: 'New', updatedAt: '2026-11-30T10:00:00Z' } });
    expect(older).toMatchObject({ status: 202, json: { accepted: [], stale: [{ ticketId: 'API-6', updatedAt: '2026-11-30T10:00:00Z', applied: '2026-11-30T10:05:00Z' }] } });
    // A merge patch with an older version too.
    const patch = await call('PATCH', '/v1/tickets/API-6', { token: TOKENS.ingest, body: { state: 'New', updatedAt: '2026-11-30T09:00:00+0000' } });
    expect(patch.json.stale).toHaveLength(1);
    const doc = await eventually(async () => {
      const d = await call('GET', '/v1/tickets/API-6', { token: TOKENS.read });
      return d.status === 200 ? d.json : undefined;
    });
    expect(doc.ticket.state).toBe('Assigned');
    expect(await signalsOf('ticket:API-6')).toBe(1);
  });

  it('answers 202 once the change is queued, and hands a ticket its changes in the order they came', async () => {
    for (let i = 1; i <= 20; i++)
      expect((await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: { id: 'API-ORDER', priority: 2, state: 'New', step: i } })).status).toBe(202);
    const doc = await eventually(async () => {
      const d = await call('GET', '/v1/tickets/API-ORDER', { token: TOKENS.read });
      return d.status === 200 && d.json.ticket.step === 20 ? d.json : undefined;
    });
    expect(doc.ticket.step).toBe(20);
    expect(await signalsOf('ticket:API-ORDER')).toBe(20);
    // ?wait=true waits for the ticket's queued changes first, so it is applied after them.
    await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: { id: 'API-ORDER', priority: 2, state: 'New', step: 21 } });
    const waited = await call('POST', '/v1/tickets?wait=true', { token: TOKENS.ingest, body: { id: 'API-ORDER', priority: 2, state: 'New', step: 22 } });
    expect(waited.status).toBe(200);
    expect((await call('GET', '/v1/tickets/API-ORDER', { token: TOKENS.read })).json.ticket.step).toBe(22);
  });

  it('refuses a request with 429 when more changes are queued than SLM_API_MAX_PENDING, queueing nothing of it', async () => {
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 40 }, (_, i) => ({ id: `API-Q${b}-${i}`, priority: 2, state: 'Queued' })));
    const answers = await Promise.all(batches.map((body) => call('POST', '/v1/tickets', { token: TOKENS.ingest, body })));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 202).length + refused.length).toBe(batches.length);
    expect(refused[0]!.headers['retry-after']).toBe('1');
    expect(refused[0]!.json.error).toMatch(/^too many changes queued for their workflows \(\d+ of 50\); retry after 1 s$/);
    for (const [b, a] of answers.entries()) {
      const first = `ticket:API-Q${b}-0`;
      const last = `ticket:API-Q${b}-39`;
      if (a.status === 202) {
        // The forwarder keeps each ticket's changes in order, not the order across tickets.
        await eventually(async () => ((await exists(first)) && (await exists(last)) ? true : undefined));
        expect(await signalsOf(first)).toBe(1);
      } else {
        expect(await exists(first)).toBe(false);
        expect(await exists(last)).toBe(false);
      }
    }
  });

  it('sheds load with 429 and Retry-After past the in-flight bound, and applies every accepted change once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `API-LOAD-${i}`);
    const answers = await Promise.all(ids.map((id) => call('POST', '/v1/tickets?wait=true', { token: TOKENS.ingest, body: { id, priority: 2, state: 'New' } })));
    const throttled = answers.filter((a) => a.status === 429);
    const ok = answers.filter((a) => a.status === 200);
    expect(throttled.length + ok.length).toBe(ids.length);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]!.headers['retry-after']).toBe('1');
    expect(throttled[0]!.json.error).toMatch(/^too many changes in flight/);
    for (const [i, a] of answers.entries()) {
      expect(await exists(`ticket:${ids[i]}`)).toBe(a.status === 200);
      if (a.status === 200) expect(await signalsOf(`ticket:${ids[i]}`)).toBe(1);
    }
  });
});

describe('bad input: a one-line error, nothing applied, the service stays healthy', () => {
  it.each([
    ['malformed JSON', { raw: '{"id": "BAD-J", ', headers: { 'content-type': 'application/json' } }, 400, /^invalid JSON body: /],
    ['a non-JSON media type', { raw: 'id=BAD-T', headers: { 'content-type': 'text/plain' } }, 415, /^unsupported media type/],
    ['a wrong type', { body: [1, 2] }, 400, /^invalid body/],
    ['a ticket id of 10,000 characters', { body: { id: 'x'.repeat(10000) } }, 400, /id/],
    ['a ticket without id', { body: { state: 'New' } }, 400, /^invalid body at id: /],
  ])('%s', async (_what, opts, status, error) => {
    const r = await call('POST', '/v1/tickets', { token: TOKENS.ingest, ...(opts as object) });
    expect(r.status).toBe(status);
    expect(r.json.error).toMatch(error);
    expect(r.json.error).not.toContain('\n');
  });

  it('a body of 5 MiB (413)', async () => {
    const r = await postLarge('/v1/tickets', TOKENS.ingest, JSON.stringify({ id: 'BAD-BIG', blob: 'x'.repeat(5 * 1024 * 1024) }));
    expect(r.status).toBe(413);
    expect(r.json.error).toBe('request body larger than 1 MiB');
    expect(await exists('ticket:BAD-BIG')).toBe(false);
    expect(await call('GET', '/readyz', { token: null })).toMatchObject({ status: 200 });
  });

  it('refuses an array with one bad ticket whole, naming it, and applies none of it', async () => {
    const r = await call('POST', '/v1/tickets', { token: TOKENS.ingest, body: [{ id: 'BAD-ARR-1', state: 'New' }, { id: 'BAD ARR 2' }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^invalid body at 1\.id: |^\[1\] invalid ticket: id: /);
    expect(await exists('ticket:BAD-ARR-1')).toBe(false);
  });

  it('keeps the old definitions when an upload has bad CEL', async () => {
    const before = await call('GET', '/v1/definitions', { token: TOKENS.read });
    const bad = await call('PUT', '/v1/definitions', { body: { serviceTargets: [{ id: 'x', appliesTo: 'ticket.priority ==', stop: 'true', goal: { duration: '1h' } }] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^invalid definitions at serviceTargets\[0\]\.appliesTo: invalid CEL/);
    const after = await call('GET', '/v1/definitions', { token: TOKENS.read });
    expect(after.json.version).toBe(before.json.version);
    expect(await call('GET', '/readyz', { token: null })).toMatchObject({ status: 200 });
  });
});

describe('ticket sources', () => {
  it("takes Zammad's trigger webhook as Zammad sends it", async () => {
    const r = await call('POST', '/v1/sources/zammad/events', {
      token: TOKENS.zammad,
      body: fixture('zammad-trigger.json'),
      headers: { 'x-zammad-trigger': 'slm', 'x-zammad-delivery': 'd1' },
    });
    expect(r).toMatchObject({ status: 202, json: { accepted: [{ ticketId: 'zammad:10081' }] } });
    const doc = await eventually(async () => {
      const d = await call('GET', '/v1/tickets/zammad:10081', { token: TOKENS.read });
      return d.status === 200 && d.json.measurements.length ? d.json : undefined;
    });
    expect(doc.ticket).toMatchObject({ state: 'In Progress', priority: 1, customer: 'Awesome Customer Inc.' });
    expect(doc.measurements.map((m: { serviceTargetId: string }) => m.serviceTargetId).sort()).toEqual(['P1-resolution', 'P1-response']);
    // The source-bound token may post only to its source.
    expect((await call('POST', '/v1/sources/jira/events', { token: TOKENS.zammad, body: fixture('jira-issue-updated.json') })).status).toBe(403);
  });

  it("takes Jira Service Management's issue webhook; an older delivery is stale", async () => {
    const body = fixture('jira-issue-updated.json');
    const r = await call('POST', '/v1/sources/jira/events?wait=true', { token: TOKENS.ingest, body });
    expect(r.status).toBe(200);
    expect(r.json.results[0].ticketId).toBe('jira:SD-121');
    expect(r.json.results[0].measurements.map((m: { serviceTargetId: string }) => m.serviceTargetId).sort()).toEqual(['P1-resolution', 'P1-response']);
    const older = fixture('jira-issue-updated.json');
    older.issue.fields.updated = '2026-11-30T08:30:00.000+0000';
    older.issue.fields.status.name = 'Waiting for support';
    const stale = await call('POST', '/v1/sources/jira/events', { token: TOKENS.ingest, body: older });
    expect(stale.json).toMatchObject({ accepted: [], stale: [{ ticketId: 'jira:SD-121' }] });
    const ignored = await call('POST', '/v1/sources/jira/events', { token: TOKENS.ingest, body: { ...body, webhookEvent: 'jira:issue_deleted' } });
    expect(ignored).toMatchObject({ status: 202, json: { accepted: [], ignored: [{ reason: 'source jira: the event does not pass accept' }] } });
  });

  it('rejects an event its mapping fails on, with the reason, and takes the next', async () => {
    const bad = await call('POST', '/v1/sources/brittle/events', { token: TOKENS.ingest, body: { id: 'B-1', state: 'New' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^source brittle: fields\.state: /);
    const good = await call('POST', '/v1/sources/brittle/events', { token: TOKENS.ingest, body: { id: 'B-2', state: { name: 'New' } } });
    expect(good).toMatchObject({ status: 202, json: { accepted: [{ ticketId: 'brittle:B-2' }] } });
    expect(await exists('ticket:brittle:B-1')).toBe(false);
  });

  it('answers 404 for an unknown source, naming the known ones', async () => {
    const r = await call('POST', '/v1/sources/nosuch/events', { token: TOKENS.ingest, body: {} });
    expect(r.status).toBe(404);
    expect(r.json.error).toBe('no source "nosuch" in the definitions (sources: zammad, jira, brittle)');
  });
});

describe('tenancy', () => {
  it("stamps a tenant token's tickets, shows it only its own, and refuses another's", async () => {
    expect((await call('POST', '/v1/tickets?wait=true', { token: TOKENS.acme, body: { id: 'TEN-A1', priority: 2, state: 'New' } })).status).toBe(200);
    expect((await call('POST', '/v1/tickets?wait=true', { token: TOKENS.globex, body: { id: 'TEN-G1', priority: 2, state: 'New' } })).status).toBe(200);
    const own = await call('GET', '/v1/tickets/TEN-A1', { token: TOKENS.acme });
    expect(own.json.ticket.company).toBe('acme');
    expect((await call('GET', '/v1/tickets/TEN-G1', { token: TOKENS.acme })).status).toBe(404);
    const list = await call('GET', '/v1/tickets?filter=TEN-', { token: TOKENS.acme });
    expect(list.json.tickets.map((t: { ticketId: string }) => t.ticketId)).toEqual(['TEN-A1']);
    expect((await call('GET', '/v1/tickets?filter=TEN-', { token: TOKENS.read })).json.total).toBe(2);
    // Taking over another tenant's ticket, or claiming another tenant, is refused.
    expect((await call('POST', '/v1/tickets', { token: TOKENS.acme, body: { id: 'TEN-G1', state: 'Closed' } })).status).toBe(403);
    expect((await call('POST', '/v1/tickets', { token: TOKENS.acme, body: { id: 'TEN-A2', company: 'globex' } })).status).toBe(403);
    expect((await call('PATCH', '/v1/tickets/TEN-G1', { token: TOKENS.acme, body: { state: 'Closed' } })).status).toBe(403);
    expect((await call('PUT', '/v1/definitions', { token: TOKENS.acme, body: {} })).status).toBe(403);
  });
});

describe('reads: the same documents as the CLI', () => {
  /** The CLI's --json document equals the API's body (taken before and after, for figures that move). */
  async function same(cli: string[], url: string): Promise<void> {
    const before = await call('GET', url, { token: TOKENS.read });
    const r = await runCli(cli, { env: cliEnv });
    const after = await call('GET', url, { token: TOKENS.read });
    expect(r.code).toBe(0);
    const fromCli = JSON.parse(r.stdout) as unknown;
    expect([before.json, after.json]).toContainEqual(fromCli);
  }

  beforeAll(async () => {
    for (const id of ['READ-1', 'READ-2']) {
      await call('POST', '/v1/tickets?wait=true', { body: { id, priority: 1, state: 'New' } });
      await call('POST', '/v1/tickets?wait=true', { body: { id, priority: 1, state: 'Resolved' } });
    }
  });

  it.each([
    [['ticket', 'show', 'READ-1', '--json'], '/v1/tickets/READ-1'],
    [['ticket', 'show', 'READ-2', '--timeline', '--json'], '/v1/tickets/READ-2/timeline'],
    [['tickets', 'list', '--json'], '/v1/tickets'],
    [['tickets', 'list', '--json', '--filter', 'READ-', '--sort', 'id', '--desc'], '/v1/tickets?filter=READ-&sort=id&desc=true'],
    [['tickets', 'list', '--json', '--page', '2'], '/v1/tickets?page=2'],
    [['sync', 'status', '--json'], '/v1/sync'],
  ])('slm %s ≡ GET %s', async (cli, url) => same(cli, url));

  it('changes the sync settings as `slm sync` does, refusing a frequency out of range', async () => {
    expect(await call('PATCH', '/v1/sync', { body: { frequencySeconds: 5 } })).toMatchObject({ status: 400 });
    const r = await call('PATCH', '/v1/sync', { body: { frequencySeconds: 120 } });
    expect(r).toMatchObject({ status: 200, json: { frequencySeconds: 120 } });
    const cli = JSON.parse((await runCli(['sync', 'status', '--json'], { env: cliEnv })).stdout) as { frequencySeconds: number };
    expect(cli.frequencySeconds).toBe(120);
  });

  it('answers 404 for an unknown ticket', async () => {
    expect(await call('GET', '/v1/tickets/NOPE-1', { token: TOKENS.read })).toMatchObject({ status: 404, json: { error: 'no ticket NOPE-1' } });
  });
});

describe('logs and metrics', () => {
  it('logs one JSON object per line (SLM_LOG_FORMAT=json): requests with route, status and tickets; workflow logs with ticket and workflow ids', async () => {
    // A malformed change signalled straight to a workflow (not through the API): the workflow logs its refusal.
    await call('POST', '/v1/tickets?wait=true', { token: TOKENS.ingest, body: { id: 'LOG-1', priority: 2, state: 'New' } });
    await temporal.workflow.getHandle('ticket:LOG-1').signal('upsertTicket', { id: 'LOG-2' });
    const parsed = await eventually(async () => {
      const all = stack
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return all.some((p) => p.msg === 'ticket change rejected') ? all : undefined;
    });
    const req = parsed.find((p) => p.msg === 'request' && p.route === '/v1/tickets' && p.status === 202 && (p.ticketIds as string[] | undefined)?.includes('API-1'));
    expect(req).toMatchObject({ level: 'INFO', method: 'POST', token: 'feeder', ticketIds: ['API-1'] });
    expect(typeof req!.ms).toBe('number');
    expect(parsed.find((p) => p.msg === 'ticket change rejected')).toMatchObject({ level: 'WARN', workflowId: 'ticket:LOG-1', ticketId: 'LOG-1', workflowType: 'ticketWorkflow' });
  });

  it("is scraped by a real Prometheus: ingest outcomes, the store's counts and the SDK's workflow task latency", async () => {
    const bin = await ensurePrometheus();
    // A due instant two seconds away: its timer fires while Prometheus scrapes.
    await call('POST', '/v1/tickets?wait=true', { token: TOKENS.ingest, body: { id: 'MET-1', bench: 'soon', state: 'New', dueAt: new Date(Date.now() + 2000).toISOString() } });
    const prom = await startPrometheus({ bin, dir: path.join(dataDir, 'prometheus'), port: await freePort(), targets: [`127.0.0.1:${apiPort}`] });
    try {
      const accepted = await eventually(async () => {
        const r = await prom.query('sum(slm_ingest_requests_total{outcome="accepted"})');
        return r.length && Number(r[0]!.value[1]) > 0 ? Number(r[0]!.value[1]) : undefined;
      }, 30000);
      expect(accepted).toBeGreaterThanOrEqual(10);
      const open = await prom.query('slm_tickets_open');
      expect(Number(open[0]!.value[1])).toBeGreaterThan(0);
      const byStatus = await prom.query('slm_measurements{status="InProcess"}');
      expect(Number(byStatus[0]!.value[1])).toBeGreaterThan(0);
      const latency = await prom.query('sum(temporal_workflow_task_execution_latency_seconds_count)');
      expect(Number(latency[0]!.value[1])).toBeGreaterThan(0);
      const snow = await prom.query('sum(slm_snow_request_duration_seconds_count{operation="POST problem"})');
      expect(Number(snow[0]!.value[1])).toBeGreaterThan(0);
      const fired = await eventually(async () => {
        const r = await prom.query('sum(slm_timer_lateness_seconds_count)');
        return r.length && Number(r[0]!.value[1]) > 0 ? Number(r[0]!.value[1]) : undefined;
      }, 30000);
      expect(fired).toBeGreaterThanOrEqual(1);
      const breaches = await eventually(async () => {
        const r = await prom.query('slm_breaches_total');
        return r.length && Number(r[0]!.value[1]) > 0 ? Number(r[0]!.value[1]) : undefined;
      }, 30000);
      expect(breaches).toBeGreaterThanOrEqual(1);
    } finally {
      await prom.stop();
    }
  }, 120000);
});
