/**
 * API tokens and settings: where tokens come from, roles, and that a token never shows in an error;
 * the API's configuration keys and their one-line errors; the in-flight bound.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allows, authenticate, loadTokens, TokenConfigError } from '../../src/api/auth';
import { ApiError, InflightLimit } from '../../src/api/ingest';
import { loadConfig } from '../../src/config';
import { serveMetrics, snowRequests } from '../../src/telemetry/metrics';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'slm-auth-'));

describe('API tokens', () => {
  it('reads SLM_API_TOKEN as one admin token, and a tokens file with roles, tenants and sources', () => {
    const d = dir();
    const file = path.join(d, 'tokens.yaml');
    fs.writeFileSync(
      file,
      '- { token: ingest-token-0123456789, role: ingest, tenant: acme, name: acme-feed }\n- { token: zammad-token-0123456789, role: ingest, source: zammad }\n',
    );
    const { tokens, devToken } = loadTokens({ SLM_API_TOKEN: 'admin-token-0123456789', SLM_API_TOKENS_FILE: file, SLM_DATA_DIR: d }, { devToken: true });
    expect(devToken).toBeNull();
    expect(tokens.map((t) => [t.name, t.role, t.tenant, t.source])).toEqual([
      ['SLM_API_TOKEN', 'admin', null, null],
      ['acme-feed', 'ingest', 'acme', null],
      ['entry 2', 'ingest', null, 'zammad'],
    ]);
    const auth = authenticate(tokens, 'Bearer ingest-token-0123456789');
    expect(auth.ok && auth.token.name).toBe('acme-feed');
    expect(authenticate(tokens, 'bearer  zammad-token-0123456789 ')).toMatchObject({ ok: true });
    expect(authenticate(tokens, 'Bearer ingest-token-012345678')).toEqual({ ok: false, status: 401, error: 'unauthorized: unknown token' });
    expect(authenticate(tokens, 'Basic abc')).toEqual({ ok: false, status: 401, error: 'unauthorized: expected "Authorization: Bearer <token>"' });
    expect(authenticate(tokens, undefined)).toEqual({ ok: false, status: 401, error: 'unauthorized: no bearer token' });
    // Only digests are kept.
    expect(JSON.stringify(tokens)).not.toContain('ingest-token-0123456789');
  });

  it('lets admin do everything and the others their own', () => {
    const { tokens } = loadTokens({ SLM_API_TOKEN: 'admin-token-0123456789', SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: dir() }, { devToken: false });
    const admin = tokens[0]!;
    expect(['ingest', 'read', 'admin'].every((r) => allows(admin, r as 'read'))).toBe(true);
    expect(allows({ ...admin, role: 'read' }, 'ingest')).toBe(false);
    expect(allows({ ...admin, role: 'ingest' }, 'ingest')).toBe(true);
    expect(allows({ ...admin, role: 'ingest' }, 'admin')).toBe(false);
  });

  it('refuses a bad tokens file entry naming the entry and field, never the token', () => {
    const d = dir();
    const file = path.join(d, 'tokens.json');
    fs.writeFileSync(file, JSON.stringify([{ token: 'short-secret', role: 'admin' }]));
    const load = () => loadTokens({ SLM_API_TOKEN: undefined, SLM_API_TOKENS_FILE: file, SLM_DATA_DIR: d }, { devToken: false });
    expect(load).toThrow(TokenConfigError);
    expect(load).toThrow('SLM_API_TOKENS_FILE: entry 1: token: at least 16 characters');
    try {
      load();
    } catch (err) {
      expect((err as Error).message).not.toContain('short-secret');
    }
    fs.writeFileSync(file, JSON.stringify([{ token: 'long-enough-secret-123', role: 'owner' }]));
    expect(load).toThrow(/^SLM_API_TOKENS_FILE: entry 1: role: /);
  });

  it('makes a development token once for npm start, and keeps it; a fleet process refuses to start without one', () => {
    const d = dir();
    const first = loadTokens({ SLM_API_TOKEN: undefined, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: d }, { devToken: true });
    const second = loadTokens({ SLM_API_TOKEN: undefined, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: d }, { devToken: true });
    expect(first.devToken).toMatch(/^slm-dev-/);
    expect(second.devToken).toBe(first.devToken);
    expect(fs.statSync(path.join(d, 'api-token')).mode & 0o777).toBe(0o600);
    expect(authenticate(first.tokens, `Bearer ${first.devToken}`)).toMatchObject({ ok: true });
    expect(() => loadTokens({ SLM_API_TOKEN: undefined, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: d }, { devToken: false })).toThrow(
      'no API token configured: set SLM_API_TOKEN or SLM_API_TOKENS_FILE',
    );
  });
});

describe('API settings', () => {
  it('has defaults and one-line errors naming the variable', () => {
    const c = loadConfig({});
    expect([c.SLM_API_HOST, c.SLM_API_PORT, c.SLM_API_MAX_INFLIGHT, c.SLM_API_IDEMPOTENCY_TTL, c.SLM_LOG_FORMAT, c.SLM_METRICS_PORT]).toEqual([
      '127.0.0.1',
      8080,
      256,
      86400,
      'text',
      undefined,
    ]);
    expect(() => loadConfig({ SLM_API_TOKEN: 'short' })).toThrow('invalid configuration: SLM_API_TOKEN: at least 16 characters');
    expect(() => loadConfig({ SLM_LOG_FORMAT: 'xml' })).toThrow(/^invalid configuration: SLM_LOG_FORMAT: /);
    expect(() => loadConfig({ SLM_API_PORT: '70000' })).toThrow(/^invalid configuration: SLM_API_PORT: /);
    expect(loadConfig({ SLM_API_IDEMPOTENCY_TTL: '2h' }).SLM_API_IDEMPOTENCY_TTL).toBe(7200);
  });
});

describe('the in-flight bound', () => {
  it('refuses work past the bound with 429 and Retry-After, and frees its units when work ends', async () => {
    const limit = new InflightLimit(3);
    let release!: () => void;
    const held = limit.run(2, () => new Promise<void>((r) => (release = r)));
    expect(limit.inFlight).toBe(2);
    const refused = await limit.run(2, async () => 'ran').catch((e: ApiError) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers).toEqual({ 'retry-after': '1' });
    expect(await limit.run(1, async () => 'fits')).toBe('fits');
    release();
    await held;
    expect(limit.inFlight).toBe(0);
    // A request larger than the bound still runs alone rather than never.
    expect(await limit.run(10, async () => 'alone')).toBe('alone');
  });
});

describe("a fleet worker's /metrics", () => {
  it('serves the registry in Prometheus text format, and nothing else', async () => {
    snowRequests.observe({ operation: 'POST problem', status: '201' }, 0.05);
    const server = await serveMetrics('127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toContain('slm_snow_request_duration_seconds_count{operation="POST problem",status="201"} 1');
      expect(text).toContain('# TYPE slm_ingest_requests_total counter');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
