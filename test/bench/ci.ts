/**
 * `npm run bench -- ci [--cis 1000] [--kpis 10] [--seconds 60] [--flap-minutes 10] [--parts engine,ingest,flap] [--in-process] [--burst]`
 *
 * 1. engine: the CI reducer alone (what `slm replay` and every CI workflow run) — CI state changes/s
 *    over N CIs with an availability target on an office calendar and a performance target with AVG
 *    over three KPIs, beside the request engine's ticket events/s measured in the same run.
 * 2. ingest: N CIs × K KPIs, one sample per KPI per second, pushed through the HTTP API for S seconds
 *    (N·K samples/s offered, one request per second of 1,000-sample batches): samples/s accepted, state
 *    changes forwarded, and sample → state change recorded (in the CI's saved segments) p50 / p99.
 * 3. flap: N CIs changing state every 10 s for M minutes: history events per CI per hour, and the
 *    worker's memory per CI workflow.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import { Agent, request } from 'undici';
import { loadTokens } from '../../src/api/auth';
import { buildApi } from '../../src/api/server';
import { signalCi } from '../../src/client/cis';
import { BusinessCalendar } from '../../src/domain/calendar';
import { applyCiChange, applyKpiReadings, newCiState } from '../../src/domain/ci/engine';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { applyTicketChange, engineEnv, newEngineState } from '../../src/domain/request/engine';
import { cis, measurementSegments } from '../../src/db/schema';
import { freePort } from '../../src/infra/process';
import { createLog } from '../../src/telemetry/log';
import { median, percentile, startBenchStack } from './stack';
import { DEFINITIONS as TICKET_DEFINITIONS, historyOf, rng } from './replay';

const say = (msg: string) => process.stdout.write(msg + '\n');
const TOKEN = 'bench-ci-token-0123456789abcdef';

const office = { id: 'office', timezone: 'Europe/Berlin', weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['08:00', '18:00']]])) };
const CI_DEFINITIONS = {
  calendars: [office],
  serviceTargets: [
    {
      id: 'web-availability',
      type: 'availability',
      appliesTo: 'ci.class == "web"',
      calendar: 'office',
      goal: { availability: 99.5 },
      milestones: [{ name: 'down-30m', at: { downFor: '30m' } }],
    },
    {
      id: 'cpu',
      type: 'performance',
      appliesTo: 'ci.class == "web"',
      warning: 'avg([kpi.k0, kpi.k1, kpi.k2]) > 70',
      alarm: 'avg([kpi.k0, kpi.k1, kpi.k2]) > 90',
      goal: { availability: 99 },
    },
  ],
};

function engineBench(cis: number): void {
  const env = engineEnv(compileDefinitions(parseDefinitions(CI_DEFINITIONS), '1'), (cal) => BusinessCalendar.fromSpec(cal));
  const random = rng(7);
  const rates: number[] = [];
  for (let round = 1; round <= 3; round++) {
    let changes = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < cis; i++) {
      const s = newCiState(`ci-${i}`);
      let at = Date.UTC(2026, 2, 2, 6, 0, 0) + Math.floor(random() * 30 * 86400_000);
      for (let k = 0; k < 50; k++) {
        at += 1 + Math.floor(random() * 600_000);
        if (k % 2 === 0) applyCiChange(s, env, { id: `ci-${i}`, class: 'web', status: random() < 0.5 ? 'up' : 'down' }, at);
        else applyKpiReadings(s, env, { k0: { value: random() * 100, at }, k1: { value: random() * 100, at }, k2: { value: 50 + random() * 50, at } }, at);
        changes++;
      }
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(changes / seconds);
    say(
      `engine round ${round}: ${changes} CI changes (snapshots and KPI readings, 2 targets each) in ${seconds.toFixed(2)} s — ${Math.round(changes / seconds).toLocaleString('en')} CI state changes/s`,
    );
  }
  const tenv = engineEnv(compileDefinitions(parseDefinitions(TICKET_DEFINITIONS), '1'), (cal) => BusinessCalendar.fromSpec(cal));
  const trates: number[] = [];
  for (let round = 1; round <= 3; round++) {
    const random2 = rng(42);
    const histories = Array.from({ length: Math.ceil(cis / 2) }, (_, i) => historyOf(i, random2));
    let events = 0;
    const t0 = process.hrtime.bigint();
    for (const h of histories) {
      const st = newEngineState(h[0]!.ticket.id);
      for (const { ticket, at } of h) {
        applyTicketChange(st, tenv, ticket, at);
        events++;
      }
    }
    trates.push(events / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  const c = median(rates);
  const t = median(trates);
  say(
    `engine median: ${Math.round(c).toLocaleString('en')} CI state changes/s (goal ≥ 500,000); request engine in the same run: ${Math.round(t).toLocaleString('en')} ticket events/s; ratio ${(c / t).toFixed(2)}`,
  );
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cis: { type: 'string', default: '1000' },
      kpis: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '60' },
      'flap-minutes': { type: 'string', default: '10' },
      'engine-cis': { type: 'string', default: '20000' },
      parts: { type: 'string', default: 'engine,ingest,flap' },
      'in-process': { type: 'boolean', default: false },
      burst: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.cis);
  const k = Number(values.kpis);
  const seconds = Number(values.seconds);
  const flapMinutes = Number(values['flap-minutes']);
  const parts = new Set(values.parts.split(','));
  say(`ci benchmark: ${os.cpus().length} cores; parts ${[...parts].join(', ')}`);
  if (parts.has('engine')) engineBench(Number(values['engine-cis']));
  if (!parts.has('ingest') && !parts.has('flap')) return;

  const defs = { ...CI_DEFINITIONS, serviceTargets: [...CI_DEFINITIONS.serviceTargets.slice(0, 1), { ...CI_DEFINITIONS.serviceTargets[1]!, calendar: undefined }] };
  const stack = await startBenchStack({ log: say, definitions: defs });
  const { client, config, db } = stack;
  try {
    // The API in a process of its own, as a fleet runs it (src/workers/api.ts): the workers' event
    // loop is not the one parsing 10,000 samples a second. `--in-process` runs it beside the workers.
    let base: string;
    let closeApi: () => Promise<void>;
    if (values['in-process']) {
      const { tokens } = loadTokens({ SLM_API_TOKEN: TOKEN, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: os.tmpdir() }, { devToken: false });
      const app = await buildApi({
        ports: { temporal: async () => client, db: async () => db, settings: config },
        tokens,
        maxInflight: 100_000,
        maxPending: config.SLM_API_MAX_PENDING,
        idempotencyTtlSeconds: 86400,
        log: createLog('text', () => undefined),
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      closeApi = () => app.close();
    } else {
      const port = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        TEMPORAL_ADDRESS: stack.dev.address,
        DATABASE_URL: stack.databaseUrl,
        SLM_API_TOKEN: TOKEN,
        SLM_API_PORT: String(port),
        SLM_API_MAX_INFLIGHT: '100000',
      };
      delete env.SLM_API_TOKENS_FILE;
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'src', 'workers', 'api.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!output.includes('api ready')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`api process did not start: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      base = `http://127.0.0.1:${port}`;
      closeApi = async () => {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      };
    }
    const agent = new Agent({ connections: 64 });
    const post = async (route: string, body: unknown) => {
      const r = await request(`${base}${route}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.body.text();
      if (r.statusCode !== 202) throw new Error(`${route} → ${r.statusCode}: ${text}`);
      return JSON.parse(text) as { accepted: number; forwarded: number };
    };
    const ids = Array.from({ length: n }, (_, i) => `bench-ci-${i}`);
    for (let i = 0; i < n; i += 500)
      await post(
        '/v1/cis',
        ids.slice(i, i + 500).map((id) => ({ id, class: 'web', status: 'up' })),
      );

    if (parts.has('ingest')) {
      // Warm-up: every CI's first samples (new KPIs are always forwarded), until every run has them.
      const first = new Date().toISOString();
      const warm = ids.flatMap((ci) => Array.from({ length: k }, (_, j) => ({ ci, name: `k${j}`, value: 40, at: first })));
      for (let i = 0; i < warm.length; i += 1000) await post('/v1/kpis', warm.slice(i, i + 1000));
      const warmDeadline = Date.now() + 300_000;
      for (;;) {
        const [row] = await db
          .select({ n: sql<number>`count(*)` })
          .from(cis)
          .where(sql`${cis.kpis} <> '{}'::jsonb`);
        if (Number(row!.n) >= n || Date.now() > warmDeadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      say(`ingest: ${n} CIs × ${k} KPIs, one sample per KPI per second for ${seconds} s (${n * k} samples/s offered) through POST /v1/kpis`);
      let accepted = 0;
      let forwarded = 0;
      const latencies: number[] = [];
      const start = Date.now();
      let behind = 0;
      // Under load: each hot CI's alarm, from the push of its sample to its segment row in PostgreSQL.
      const pending = new Map<string, number>();
      const underLoad: number[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling || pending.size > 0) {
          await new Promise((r) => setTimeout(r, 50));
          if (pending.size === 0) continue;
          const since = new Date(Math.min(...pending.values()));
          const rows = await db
            .select({ ci: measurementSegments.subjectId })
            .from(measurementSegments)
            .where(
              and(
                eq(measurementSegments.subjectKind, 'ci'),
                eq(measurementSegments.status, 'alarm'),
                gte(measurementSegments.startAt, since),
                inArray(measurementSegments.subjectId, [...pending.keys()]),
              ),
            );
          const now = Date.now();
          for (const r of rows) {
            const t = pending.get(r.ci);
            if (t !== undefined) {
              underLoad.push(now - t);
              pending.delete(r.ci);
            }
          }
          if (!polling && now - start > (seconds + 60) * 1000) break;
        }
      })();
      for (let s = 0; s < seconds; s++) {
        const tick = start + s * 1000;
        const wait = tick - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else behind++;
        const at = Date.now();
        const samples = [];
        for (let i = 0; i < n; i++) {
          // State changes to time: spread, ten CIs a second cross the alarm level (and come back the next
          // second, every other second); with --burst, one CI in ten at once every 10th second (an outage storm).
          const hot = values.burst ? s % 10 === 5 && i % 10 === 0 : s % 2 === 0 && i % 100 === (s * 5) % 100;
          for (let j = 0; j < k; j++) samples.push({ ci: ids[i]!, name: `k${j}`, value: hot && j < 3 ? 95 : 40 + ((s + j) % 5), at: new Date(at).toISOString() });
          if (hot) pending.set(ids[i]!, at);
        }
        const batches = [];
        for (let i = 0; i < samples.length; i += 1000) batches.push(samples.slice(i, i + 1000));
        const results = await Promise.all(
          batches.map(async (b) => {
            const t0 = performance.now();
            const r = await post('/v1/kpis', b);
            latencies.push(performance.now() - t0);
            return r;
          }),
        );
        for (const r of results) {
          accepted += r.accepted;
          forwarded += r.forwarded;
        }
      }
      const elapsed = (Date.now() - start) / 1000;
      polling = false;
      await poller;
      say(
        `ingest: ${accepted} samples accepted in ${elapsed.toFixed(1)} s — ${Math.round(accepted / elapsed).toLocaleString('en')} samples/s (offered ${n * k}/s; ${behind} ticks late); ${forwarded} forwarded to workflows (${((100 * forwarded) / Math.max(1, accepted)).toFixed(2)} %)`,
      );
      say(`ingest: request latency (1,000 samples) p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
      say(
        `ingest: under load, sample → state change recorded (the alarm's segment row in PostgreSQL, from the push), ${underLoad.length} changes: p50 ${percentile(underLoad, 50).toFixed(0)} ms, p99 ${percentile(underLoad, 99).toFixed(0)} ms (goal p99 < 1 s)${pending.size ? `; ${pending.size} never seen` : ''}`,
      );
      const recorded: number[] = [];
      // sample → state change recorded: a fresh change, timed one by one until its segment row is in PostgreSQL.
      // Each on another CI (ok until then): its three CPU KPIs go to alarm.
      for (let i = 0; i < 50; i++) {
        const ci = ids[(i * 37) % n]!;
        const at = Date.now();
        const t0 = performance.now();
        await post(
          '/v1/kpis',
          [0, 1, 2].map((j) => ({ ci, name: `k${j}`, value: 99, at: new Date(at).toISOString() })),
        );
        for (;;) {
          const [row] = await db
            .select({ n: sql<number>`count(*)` })
            .from(measurementSegments)
            .where(and(eq(measurementSegments.subjectKind, 'ci'), eq(measurementSegments.subjectId, ci), gte(measurementSegments.startAt, new Date(at))));
          if (Number(row!.n) > 0) break;
          if (performance.now() - t0 > 30_000) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        recorded.push(performance.now() - t0);
      }
      say(
        `ingest: idle, sample → state change recorded (segment row in PostgreSQL), 50 changes: p50 ${percentile(recorded, 50).toFixed(0)} ms, p99 ${percentile(recorded, 99).toFixed(0)} ms (goal p99 < 1 s)`,
      );
    }

    if (parts.has('flap')) {
      say(`flap: ${n} CIs changing state every 10 s for ${flapMinutes} min`);
      const rssBefore = process.memoryUsage().rss;
      const start = Date.now();
      for (let s = 0; s * 10_000 < flapMinutes * 60_000; s++) {
        const wait = start + s * 10_000 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await Promise.all(ids.map((id) => signalCi(client, config, { id, class: 'web', status: s % 2 ? 'down' : 'up' })));
      }
      await new Promise((r) => setTimeout(r, 5000));
      const sampleIds = ids.filter((_, i) => i % Math.max(1, Math.floor(n / 20)) === 0);
      let events = 0;
      for (const id of sampleIds) {
        // Every run of the CI: back through continue-as-new to the first.
        let runId: string | undefined;
        do {
          const h = await client.workflow.getHandle(`ci:${id}`, runId).fetchHistory();
          events += h.events?.length ?? 0;
          runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
        } while (runId);
      }
      const hours = (Date.now() - start) / 3600_000;
      const rss = process.memoryUsage().rss;
      say(
        `flap: ${(events / sampleIds.length / hours).toFixed(0)} history events per CI per hour (mean of ${sampleIds.length} CIs, continue-as-new included); process RSS ${(rssBefore / 1e6).toFixed(0)} → ${(rss / 1e6).toFixed(0)} MB: ${((rss - rssBefore) / n / 1024).toFixed(1)} KiB per CI workflow (worker, API and client in this process)`,
      );
    }
    await closeApi();
  } finally {
    await stack.stop();
  }
}
