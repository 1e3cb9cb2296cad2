/**
 * The HTTP API (DESIGN §4.9): a thin adapter over the application layer. Fastify, because it is the
 * Node framework with body limits, content-type checks (413/415) and schema-driven validation built
 * in, a zod type provider that validates with the very schemas the CLI uses and a swagger plugin that
 * turns them into `/openapi.json` — and it is among the fastest on Node, which matters for ingest.
 */
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { sql } from 'drizzle-orm';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { applyDefinitionsDoc } from '../app/definitions';
import { CiNotFoundError, listCisDoc, parseKpiPush, PushTooLargeError, pushKpis, showCi, upsertCi } from '../app/cis';
import { ciTenants } from '../db/ciQueries';
import { CiValidationError, parseCi, type Ci } from '../domain/ci/ci';
import type { AppPorts } from '../app/ports';
import { changeSyncSettings, getSyncStatus, SyncSettingsError } from '../app/sync';
import { timelineDoc } from '../app/timeline';
import { ListQueryError, listTicketsDoc, showTicket, TicketNotFoundError } from '../app/tickets';
import type { TicketDoc } from '../app/documents';
import { claimIdempotencyKey, finishIdempotencyKey, latestDefinitions, purgeIdempotencyKeys, releaseIdempotencyKey } from '../db/queries';
import { DefinitionError, parseDefinitions, type Definitions } from '../domain/definitions';
import { compileSource, mapSourceEvent, SourceMappingError, type CompiledSource } from '../domain/sources';
import { parseTicket, parseTicketPatch, TicketValidationError, type Ticket } from '../domain/ticket';
import { ingestBacklog, ingestRequests, metricsText } from '../telemetry/metrics';
import type { Log } from '../telemetry/log';
import { allows, authenticate, type ApiToken, type Role } from './auth';
import { startForwarder } from './forwarder';
import { AgreementNotFoundError, ComplianceRequestError, complianceCsv, complianceHistoryDoc, complianceShowDoc, listAgreementsDoc } from '../app/compliance';
import { ApiError, InflightLimit, ingestPatch, ingestSnapshots, scopePatch, scopeTicket, tenantFieldFor, type IngestOutcome } from './ingest';
import * as S from './schemas';
import { agreementPageDoc, ciStripsDoc, overviewDoc, seriesDoc } from '../app/dashboard';
import { complianceReport, RecordNotFoundError } from '../app/report';
import { registerDashboard } from './dashboard';

export const BODY_LIMIT = 1024 * 1024;

export interface ApiOptions {
  ports: AppPorts;
  tokens: ApiToken[];
  maxInflight: number;
  /** Changes queued for their workflows before the API answers 429. */
  maxPending: number;
  idempotencyTtlSeconds: number;
  log: Log;
  /** The version string of the product, shown in the OpenAPI document. */
  version?: string;
  /** The Temporal UI's base URL, for the dashboard's links to workflows (null: not linked). */
  temporalUiUrl?: string | null;
  namespace?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: ApiToken;
    /** The tickets an ingest request took in, for its log line. */
    ticketIds?: string[];
  }
  interface FastifyContextConfig {
    /** The role a route needs; unset: public (health, metrics, the OpenAPI document). */
    role?: Role;
    /** Ingest routes count their outcomes by this name. */
    ingest?: string;
  }
}

/** The definitions in force, read at most every two seconds (and at once after a PUT). */
function definitionsCache(ports: AppPorts) {
  let cached: { at: number; version: number; body: Definitions; sources: Map<string, CompiledSource> } | null = null;
  const load = async () => {
    if (cached && Date.now() - cached.at < 2000) return cached;
    const latest = await latestDefinitions(await ports.db());
    const body = latest ? parseDefinitions(latest.body) : parseDefinitions({});
    const version = latest?.version ?? 0;
    const sources = cached && cached.version === version ? cached.sources : new Map(body.sources.map((s, i) => [s.name, compileSource(s, `sources[${i}]`)]));
    cached = { at: Date.now(), version, body, sources };
    return cached;
  };
  return { load, invalidate: () => void (cached = null) };
}

/** Builds the server (not listening): `listen` it, or `inject` requests in tests. */
export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const { ports, log } = opts;
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, requestTimeout: 120_000, return503OnClosing: true });
  app.setValidatorCompiler(validatorCompiler);
  // Documents are sent as the application layer built them (the CLI prints the same): no schema rewrites them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON only: a text/plain body is refused with 415, not parsed as a string.
  app.removeContentTypeParser('text/plain');
  // A merge patch has its own media type (RFC 7386); it is JSON.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'temporal-slm API', version: opts.version ?? '0.1.0', description: 'Ticket ingest, reads and operations of temporal-slm (DESIGN §4.9)' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    // The schemas named with .meta({ id }) become components the paths refer to.
    transformObject: jsonSchemaTransformObject,
  });

  const limit = new InflightLimit(opts.maxInflight);
  const forwarder = startForwarder({ ports, log, backlogGauge: ingestBacklog });
  app.addHook('onClose', async () => forwarder.stop());
  const defs = definitionsCache(ports);
  const purge = setInterval(
    () =>
      void ports
        .db()
        .then((db) => purgeIdempotencyKeys(db, opts.idempotencyTtlSeconds))
        .catch(() => undefined),
    3_600_000,
  );
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));

  // ── authentication: before the body is read, so a bad token costs nothing else ────────────────
  app.addHook('onRequest', async (req, reply) => {
    const role = req.routeOptions.config.role;
    if (!role) return;
    const auth = authenticate(opts.tokens, req.headers.authorization);
    if (!auth.ok) {
      countIngest(req, 'unauthorized');
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: auth.error });
    }
    if (!allows(auth.token, role)) {
      countIngest(req, 'forbidden');
      return reply.code(403).send({ error: `forbidden: token "${auth.token.name}" has role ${auth.token.role}; this needs ${role}` });
    }
    req.token = auth.token;
  });

  // One line per request: method, route, status, time; never a header or a body.
  app.addHook('onResponse', async (req, reply) => {
    log(reply.statusCode >= 500 ? 'ERROR' : 'INFO', 'request', {
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      token: req.token?.name,
      ticketId: (req.params as { id?: string } | undefined)?.id,
      ticketIds: req.ticketIds,
    });
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: { instancePath?: string; message?: string }[]; validationContext?: string }, req, reply) => {
    const send = (status: number, error: string, headers: Record<string, string> = {}) => {
      if (status === 429) countIngest(req, 'throttled');
      else if (status >= 400 && status < 500) countIngest(req, 'rejected');
      else countIngest(req, 'error');
      return reply.code(status).headers(headers).send({ error });
    };
    if (err instanceof ApiError) return send(err.status, err.message, err.headers);
    if (err.validation) {
      const v = err.validation[0] ?? {};
      let path = (v.instancePath ?? '').split('/').filter(Boolean);
      let message = v.message ?? err.message;
      // One ticket or an array of them: name the problem of the shape that was sent, not "Invalid input".
      const branches = (v as { params?: { errors?: { code: string; path: PropertyKey[]; message: string }[][] } }).params?.errors;
      const branch = branches?.find((b) => !(b[0]?.code === 'invalid_type' && b[0].path.length === 0)) ?? branches?.[0];
      if (branch?.[0]) {
        path = [...path, ...branch[0].path.map(String)];
        message = branch[0].message;
      }
      return send(400, `invalid ${err.validationContext ?? 'request'}${path.length ? ` at ${path.join('.')}` : ''}: ${message}`);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(413, `request body larger than ${BODY_LIMIT / 1024 / 1024} MiB`);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(415, 'unsupported media type: send Content-Type: application/json');
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return send(400, 'invalid body: empty JSON body');
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError))
      return send(400, `invalid JSON body: ${err.message.split('\n')[0]}`);
    if (
      err instanceof TicketValidationError ||
      err instanceof DefinitionError ||
      err instanceof ListQueryError ||
      err instanceof SyncSettingsError ||
      err instanceof SourceMappingError ||
      err instanceof CiValidationError
    ) {
      return send(400, err.message);
    }
    if (err instanceof PushTooLargeError) return send(413, err.message);
    if (err instanceof ComplianceRequestError) return send(400, err.message);
    if (err instanceof AgreementNotFoundError || err instanceof RecordNotFoundError) return send(404, err.message);
    if (err instanceof TicketNotFoundError || err instanceof CiNotFoundError) return send(404, err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return send(err.statusCode, err.message.split('\n')[0]!);
    if (/cannot reach Temporal|Connection refused|UNAVAILABLE|ECONNREFUSED|deadline/i.test(`${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`)) {
      return send(503, `a backend is unavailable: ${err.message.split('\n')[0]}; retry later`, { 'retry-after': '5' });
    }
    log('ERROR', 'request failed', { method: req.method, route: req.routeOptions.url, error: err.message.split('\n')[0] });
    return send(500, 'internal error (logged)');
  });

  function countIngest(req: FastifyRequest, outcome: string, n = 1): void {
    const route = req.routeOptions?.config?.ingest;
    if (route) ingestRequests.inc({ route, outcome }, n);
  }

  /**
   * Runs an ingest request once per Idempotency-Key: a retry gets the first answer (header
   * `Idempotent-Replayed: true`). A first attempt that failed for a reason a retry may not meet
   * (429, 5xx) frees the key; a refusal of the request itself (4xx) is its answer.
   */
  async function idempotent(req: FastifyRequest, reply: FastifyReply, fn: () => Promise<{ status: number; body: unknown }>): Promise<FastifyReply> {
    const key = req.headers['idempotency-key'];
    if (key === undefined) {
      const r = await fn();
      return reply.code(r.status).send(r.body);
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
      throw new ApiError(400, 'invalid Idempotency-Key: 1 to 255 visible ASCII characters');
    }
    const db = await ports.db();
    const token = req.token!;
    const digest = crypto
      .createHash('sha256')
      .update(`${req.method} ${req.routeOptions.url} ${req.url} ${JSON.stringify(req.body ?? null)}`)
      .digest('hex');
    const claim = await claimIdempotencyKey(db, token.principal, key, digest, opts.idempotencyTtlSeconds);
    if (claim.kind === 'done') {
      countIngest(req, 'replayed');
      return reply.code(claim.status).header('idempotent-replayed', 'true').send(claim.response);
    }
    if (claim.kind === 'running') throw new ApiError(409, 'a request with this Idempotency-Key is still in progress; retry later', { 'retry-after': '1' });
    if (claim.kind === 'mismatch') throw new ApiError(422, 'this Idempotency-Key was used for a different request');
    let result: { status: number; body: unknown };
    try {
      result = await fn();
    } catch (err) {
      if (err instanceof ApiError && err.status !== 429 && err.status < 500) {
        await finishIdempotencyKey(db, token.principal, key, err.status, { error: err.message });
      } else if (err instanceof TicketValidationError || err instanceof SourceMappingError) {
        await finishIdempotencyKey(db, token.principal, key, 400, { error: err.message });
      } else {
        await releaseIdempotencyKey(db, token.principal, key);
      }
      throw err;
    }
    await finishIdempotencyKey(db, token.principal, key, result.status, result.body);
    return reply.code(result.status).send(result.body);
  }

  const countOutcome = (req: FastifyRequest, out: IngestOutcome & { ignored?: unknown[] }) => {
    req.ticketIds = out.accepted.map((a) => a.ticketId);
    if (out.accepted.length) countIngest(req, 'accepted', out.accepted.length);
    if (out.stale.length) countIngest(req, 'stale', out.stale.length);
    if (out.ignored?.length) countIngest(req, 'ignored', out.ignored.length);
  };

  const api = app.withTypeProvider<ZodTypeProvider>();

  // ── operations ────────────────────────────────────────────────────────────────────────────────
  api.get('/healthz', { schema: { hide: false, summary: 'The process is up', security: [], response: { 200: S.healthSchema } } }, async () => ({ status: 'ok' }));

  api.get(
    '/readyz',
    { schema: { summary: 'Temporal and the database are reachable (503 names which is not)', security: [], response: { 200: S.readySchema, 503: S.readySchema } } },
    async (_req, reply) => {
      const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2000).unref())]);
      const check = async (fn: () => Promise<unknown>) =>
        within(fn()).then(
          () => 'ok',
          (err: Error) => `unreachable: ${err.message.split('\n')[0]}`,
        );
      const [temporal, database] = await Promise.all([
        check(async () => (await ports.temporal()).workflowService.getSystemInfo({})),
        check(async () => (await ports.db()).execute(sql`select 1`)),
      ]);
      const ready = temporal === 'ok' && database === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', temporal, database });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus text format', security: [] } as never }, async (_req, reply) => {
    const { contentType, body } = await metricsText();
    return reply.type(contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } as never }, async () => app.swagger());

  // ── ingest ────────────────────────────────────────────────────────────────────────────────────
  api.post(
    '/v1/tickets',
    {
      config: { role: 'ingest', ingest: 'tickets' },
      schema: {
        summary: 'Full ticket snapshots, one or an array (202; ?wait=true answers with the measurements)',
        body: S.ticketsBodySchema,
        querystring: S.waitQuery,
        headers: S.idempotencyHeaders,
        response: {
          200: S.acceptedSchema,
          202: S.acceptedSchema,
          400: S.errorSchema,
          401: S.errorSchema,
          403: S.errorSchema,
          413: S.errorSchema,
          415: S.errorSchema,
          429: S.errorSchema,
        },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const list = Array.isArray(req.body) ? req.body : [req.body];
        const { body: current } = await defs.load();
        const tickets: Ticket[] = [];
        for (const [i, raw] of list.entries()) {
          try {
            tickets.push(await scopeTicket(ports, req.token!, current.tenantField, parseTicket(raw)));
          } catch (err) {
            if (err instanceof TicketValidationError && Array.isArray(req.body)) throw new TicketValidationError(`[${i}] ${err.message}`);
            throw err;
          }
        }
        // Queued changes are bounded by the queue (SLM_API_MAX_PENDING); waited ones by the in-flight bound.
        const ingest = () => ingestSnapshots(ports, forwarder, opts.maxPending, tickets, req.query.wait);
        const out = req.query.wait ? await limit.run(tickets.length, ingest) : await ingest();
        countOutcome(req, out);
        return { status: req.query.wait ? 200 : 202, body: out };
      }),
  );

  api.patch(
    '/v1/tickets/:id',
    {
      config: { role: 'ingest', ingest: 'patch' },
      schema: {
        summary: 'A JSON merge patch (RFC 7386) onto the ticket (202 once accepted; ?wait=true answers with the measurements)',
        params: S.idParams,
        body: S.ticketPatchSchema,
        querystring: S.waitQuery,
        headers: S.idempotencyHeaders,
        response: { 200: S.measuredSchema, 202: S.acceptedSchema, 400: S.errorSchema, 403: S.errorSchema },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const id = parseTicket({ id: req.params.id }).id;
        const patch = await scopePatch(ports, req.token!, (await defs.load()).body.tenantField, id, parseTicketPatch(req.body, id));
        req.ticketIds = [id];
        const out = await ingestPatch(ports, forwarder, { maxPending: opts.maxPending, inflight: limit }, id, patch, req.query.wait);
        countIngest(req, out.status === 202 && out.body.stale.length ? 'stale' : 'accepted');
        return out;
      }),
  );

  api.post(
    '/v1/sources/:name/events',
    {
      config: { role: 'ingest', ingest: 'source' },
      schema: {
        summary: "A ticketing system's native webhook, mapped to a ticket by the source's CEL mapping (definitions `sources`)",
        params: S.sourceParams,
        body: S.sourceEventSchema,
        querystring: S.waitQuery,
        headers: S.idempotencyHeaders,
        response: { 200: S.acceptedSchema, 202: S.acceptedSchema, 400: S.errorSchema, 404: S.errorSchema },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const token = req.token!;
        if (token.source !== null && token.source !== req.params.name) throw new ApiError(403, `forbidden: token "${token.name}" is bound to source ${token.source}`);
        const current = await defs.load();
        const source = current.sources.get(req.params.name);
        if (!source) throw new ApiError(404, `no source "${req.params.name}" in the definitions (sources: ${[...current.sources.keys()].join(', ') || 'none'})`);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (k !== 'authorization' && k !== 'cookie' && typeof v === 'string') headers[k] = v;
        const mapped = mapSourceEvent(source, req.body, headers);
        if (mapped.kind === 'ignored') {
          countIngest(req, 'ignored');
          return { status: 202, body: { accepted: [], stale: [], ignored: [{ reason: mapped.reason }] } };
        }
        const ticket = await scopeTicket(ports, token, current.body.tenantField, mapped.ticket);
        const ingest = () => ingestSnapshots(ports, forwarder, opts.maxPending, [ticket], req.query.wait);
        const out = req.query.wait ? await limit.run(1, ingest) : await ingest();
        countOutcome(req, out);
        return { status: req.query.wait ? 200 : 202, body: out };
      }),
  );

  api.put(
    '/v1/definitions',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Validate and store definitions as a new version; running tickets are recomputed (`slm definitions apply`)',
        body: S.definitionsBodySchema,
        response: { 200: S.definitionsAppliedSchema, 400: S.errorSchema },
      },
    },
    async (req) => {
      if (req.token!.tenant !== null) throw new ApiError(403, 'forbidden: definitions are shared by every tenant; a tenant-bound token cannot change them');
      const parsed = parseDefinitions(req.body);
      const applied = await applyDefinitionsDoc(ports, parsed, 'api');
      defs.invalidate();
      return applied;
    },
  );

  api.get(
    '/v1/definitions',
    { config: { role: 'read' }, schema: { summary: 'The definitions in force and their version', response: { 200: S.definitionsDocSchema } } },
    async () => {
      const current = await defs.load();
      return { version: current.version, definitions: current.body };
    },
  );

  // ── reads: the CLI's --json documents ───────────────────────────────────────────────────────────
  const tenantOf = async (req: FastifyRequest) => {
    const field = tenantFieldFor(req.token!, (await defs.load()).body.tenantField);
    return field === null ? undefined : { field, value: req.token!.tenant! };
  };
  /** A tenant-bound token sees only its tenant's tickets; another's reads as unknown. */
  const ownTicket = async (req: FastifyRequest, id: string): Promise<TicketDoc> => {
    const doc = await showTicket(ports, id);
    const tenant = await tenantOf(req);
    if (tenant && (doc.ticket as Record<string, unknown> | null)?.[tenant.field] !== tenant.value) throw new TicketNotFoundError(`no ticket ${id}`);
    return doc;
  };

  api.get(
    '/v1/tickets',
    { config: { role: 'read' }, schema: { summary: '`slm tickets list --json`: filter, sort, 25 a page', querystring: S.listQuery, response: { 200: S.ticketListSchema } } },
    async (req) => listTicketsDoc(ports, { page: req.query.page, filter: req.query.filter, sort: req.query.sort, descending: req.query.desc, tenant: await tenantOf(req) }),
  );

  api.get(
    '/v1/tickets/:id',
    { config: { role: 'read' }, schema: { summary: '`slm ticket show --json`', params: S.idParams, response: { 200: S.ticketDocSchema, 404: S.errorSchema } } },
    async (req) => (await ownTicket(req, req.params.id)) as never,
  );

  api.get(
    '/v1/tickets/:id/timeline',
    { config: { role: 'read' }, schema: { summary: '`slm ticket show --timeline --json`', params: S.idParams, response: { 200: S.timelineSchema, 404: S.errorSchema } } },
    async (req) => timelineDoc(req.params.id, await ownTicket(req, req.params.id)) as never,
  );

  api.get(
    '/v1/sync',
    { config: { role: 'read' }, schema: { summary: '`slm sync status --json`', response: { 200: S.syncSchema } } },
    async () => (await getSyncStatus(ports)) as never,
  );

  // ── configuration items (DESIGN §4.7) ──────────────────────────────────────────────────────────
  /**
   * A tenant-bound token may push only CIs that carry its tenant (set when absent, refused when
   * another) and that no other tenant owns (one query for the whole request).
   */
  const scopeCis = async (req: FastifyRequest, list: Record<string, unknown>[]): Promise<Record<string, unknown>[]> => {
    const tenant = await tenantOf(req);
    if (!tenant) return list;
    for (const ci of list) {
      const has = ci[tenant.field];
      if (has !== undefined && has !== tenant.value)
        throw new ApiError(403, `forbidden: CI ${String(ci.id)} carries ${tenant.field} ${JSON.stringify(has)}, not this token's tenant`);
    }
    const owners = await ciTenants(await ports.db(), [...new Set(list.map((ci) => String(ci.id)))], tenant.field);
    for (const ci of list) {
      const owner = owners.get(String(ci.id));
      if (owner !== undefined && owner !== null && owner !== tenant.value) throw new ApiError(403, `forbidden: CI ${String(ci.id)} belongs to another tenant`);
    }
    return list.map((ci) => ({ ...ci, [tenant.field]: tenant.value }));
  };

  api.post(
    '/v1/cis',
    {
      config: { role: 'ingest', ingest: 'cis' },
      schema: {
        summary: 'CI snapshots (one or an array): each goes to its `ci:<id>` workflow (`slm ci upsert`)',
        body: S.ciBodySchema,
        headers: S.idempotencyHeaders,
        response: { 202: S.ciAcceptedSchema, 400: S.errorSchema },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const list = await scopeCis(req, Array.isArray(req.body) ? req.body : [req.body]);
        // Every CI checked before any is sent: nothing is half-applied.
        const cis: Ci[] = list.map((raw, i) => {
          try {
            return parseCi(raw);
          } catch (err) {
            if (err instanceof CiValidationError && list.length > 1) throw new CiValidationError(`cis[${i}]: ${err.message}`);
            throw err;
          }
        });
        const accepted = await limit.run(cis.length, async () => {
          const out = [];
          for (const ci of cis) out.push(await upsertCi(ports, ci));
          return out;
        });
        countIngest(req, 'accepted', accepted.length);
        return { status: 202, body: { accepted } };
      }),
  );

  api.post(
    '/v1/kpis',
    {
      config: { role: 'ingest', ingest: 'kpis' },
      schema: {
        summary: 'KPI samples (an array, or {samples}); only those that change a state reach the CI workflows (`slm kpi push`)',
        body: S.kpiBodySchema,
        headers: S.idempotencyHeaders,
        response: { 202: S.kpiPushedSchema, 400: S.errorSchema, 413: S.errorSchema },
      },
    },
    async (req, reply) =>
      idempotent(req, reply, async () => {
        const samples = parseKpiPush(Array.isArray(req.body) ? req.body : req.body.samples);
        const tenant = await tenantOf(req);
        if (tenant) {
          const ids = [...new Set(samples.map((s) => s.ci))];
          const owners = await ciTenants(await ports.db(), ids, tenant.field);
          const foreign = ids.find((id) => owners.get(id) !== tenant.value);
          if (foreign !== undefined) throw new ApiError(403, `forbidden: CI ${foreign} is not this token's tenant's (send its snapshot first)`);
        }
        const out = await limit.run(Math.max(1, Math.ceil(samples.length / 100)), () => pushKpis(ports, samples));
        countIngest(req, 'accepted', out.accepted);
        if (out.stale) countIngest(req, 'stale', out.stale);
        return { status: 202, body: out };
      }),
  );

  api.get(
    '/v1/cis',
    { config: { role: 'read' }, schema: { summary: '`slm cis list --json`: filter, sort, 25 a page', querystring: S.ciListQuery, response: { 200: S.ciListSchema } } },
    async (req) =>
      (await listCisDoc(ports, {
        page: req.query.page,
        filter: req.query.filter,
        sort: req.query.sort,
        descending: req.query.desc,
        down: req.query.down,
        tenant: await tenantOf(req),
      })) as never,
  );

  api.get(
    '/v1/cis/:id',
    { config: { role: 'read' }, schema: { summary: '`slm ci show --json`', params: S.idParams, response: { 200: S.ciDocSchema, 404: S.errorSchema } } },
    async (req) => {
      const doc = await showCi(ports, req.params.id);
      const tenant = await tenantOf(req);
      if (tenant && (doc.ci as Record<string, unknown> | null)?.[tenant.field] !== tenant.value) throw new CiNotFoundError(`no CI ${req.params.id}`);
      return doc as never;
    },
  );

  // A tenant-bound token reads through row-level security: its contracts' agreements and records only.
  api.get(
    '/v1/agreements',
    { config: { role: 'read' }, schema: { summary: '`slm agreements list --json`: agreements, contracts and their current records', response: { 200: S.agreementsDocSchema } } },
    async (req) => (await listAgreementsDoc(ports, req.token!.tenant)) as never,
  );

  api.get(
    '/v1/compliance',
    {
      config: { role: 'read' },
      schema: {
        summary: '`slm compliance show --json` (the current records, or those whose period holds `period`); `history=true`: every record and the settlement ledger',
        querystring: S.complianceQuery,
        response: { 200: S.complianceDocSchema, 400: S.errorSchema, 404: S.errorSchema },
      },
    },
    async (req) =>
      (req.query.history
        ? await complianceHistoryDoc(ports, req.query.agreement, req.token!.tenant)
        : await complianceShowDoc(ports, req.query.agreement, { period: req.query.period, tenant: req.token!.tenant })) as never,
  );

  api.get(
    '/v1/compliance/export',
    {
      config: { role: 'read' },
      schema: {
        summary: '`slm compliance export --format csv`: the records of a period and the measurements behind them',
        querystring: S.complianceExportQuery,
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const csv = await complianceCsv(ports, { period: req.query.period, agreementId: req.query.agreement, tenant: req.token!.tenant });
      return reply.type('text/csv; charset=utf-8').send(csv);
    },
  );

  // ── the dashboard (DESIGN §3.5): its page and files, and the reads behind it ─────────────────
  registerDashboard(app);

  api.get(
    '/v1/session',
    { config: { role: 'read' }, schema: { summary: 'The token in use: name, role, tenant; and the Temporal UI to link workflows to', response: { 200: S.sessionSchema } } },
    async (req) => ({
      name: req.token!.name,
      role: req.token!.role,
      tenant: req.token!.tenant,
      temporalUiUrl: opts.temporalUiUrl ?? null,
      namespace: opts.namespace ?? 'default',
    }),
  );

  api.get(
    '/v1/overview',
    {
      config: { role: 'read' },
      schema: {
        summary: "The dashboard's overview: agreements (breached and at risk first) with current records, forecast and trend; counts",
        response: { 200: S.overviewSchema },
      },
    },
    async (req) => (await overviewDoc(ports, req.token!.tenant)) as never,
  );

  api.get(
    '/v1/agreements/:id',
    {
      config: { role: 'read' },
      schema: {
        summary: "The dashboard's agreement page: the agreement, its latest records, the record of `reviewPeriod` holding `period` (default now) with its chart series, the ledger",
        params: S.idParams,
        querystring: S.agreementPageQuery,
        response: { 200: S.agreementPageSchema, 400: S.errorSchema, 404: S.errorSchema },
      },
    },
    async (req) => (await agreementPageDoc(ports, req.params.id, { period: req.query.period, reviewPeriod: req.query.reviewPeriod, tenant: req.token!.tenant })) as never,
  );

  api.get(
    '/v1/compliance/series',
    {
      config: { role: 'read' },
      schema: {
        summary: 'The percent over the period of the records holding `period` (default now)',
        querystring: S.seriesQuery,
        response: { 200: S.seriesSchema, 400: S.errorSchema, 404: S.errorSchema },
      },
    },
    async (req) => (await seriesDoc(ports, req.query.agreement, { period: req.query.period, tenant: req.token!.tenant })) as never,
  );

  api.get(
    '/v1/compliance/report',
    {
      config: { role: 'read' },
      schema: {
        summary: '`slm compliance report`: the PDF one-pager (or the CSV) of an agreement and period',
        querystring: S.reportQuery,
        produces: ['application/pdf', 'text/csv'],
      },
    },
    async (req, reply) => {
      const q = req.query;
      const out = await complianceReport(ports, q.format, { agreementId: q.agreement, period: q.period, reviewPeriod: q.reviewPeriod, tenant: req.token!.tenant });
      return reply.type(out.contentType).header('content-disposition', `attachment; filename="${out.fileName}"`).send(out.body);
    },
  );

  api.get(
    '/v1/cis/strips',
    {
      config: { role: 'read' },
      schema: {
        summary: "The CIs' segments over the current month and their availability (`ids`: comma-separated, at most 100)",
        querystring: S.stripsQuery,
        response: { 200: S.stripsSchema, 400: S.errorSchema },
      },
    },
    async (req) => {
      const ids = req.query.ids
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      return (await ciStripsDoc(ports, ids, req.token!.tenant)) as never;
    },
  );

  api.patch(
    '/v1/sync',
    { config: { role: 'admin' }, schema: { summary: 'Pause, resume or re-time the SNOW poll loop', body: S.syncPatchSchema, response: { 200: S.syncSchema, 400: S.errorSchema } } },
    async (req) => {
      if (req.token!.tenant !== null) throw new ApiError(403, 'forbidden: the SNOW poll loop is shared by every tenant');
      const patch: { enabled?: boolean; frequencySeconds?: number } = {};
      if (req.body.enabled !== undefined) patch.enabled = req.body.enabled;
      if (req.body.frequencySeconds !== undefined) patch.frequencySeconds = req.body.frequencySeconds;
      return (await changeSyncSettings(ports, patch)) as never;
    },
  );

  return app;
}
