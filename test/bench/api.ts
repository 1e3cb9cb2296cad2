/**
 * `npm run bench -- api [--changes 1000] [--rounds 3] [--rate 100] [--seconds 60] [--overload-seconds 30] [--api in-process|process]`
 *
 * The HTTP API on the benchmark stack (dev server, PostgreSQL, emulator, both workers), the API
 * in-process as `npm start` runs it, or with `--api process` in a process of its own as a fleet runs
 * it (`src/workers/api.ts`; the workers and this client stay in this process, on the same cores):
 *  1. sustained ingest: `--changes` ticket snapshots POSTed through the API (32 in flight, each
 *     answered 202) against the same number sent by the Temporal client directly (signal-with-start,
 *     32 in flight), alternating, `--rounds` times, each timed until every change is applied (its
 *     ticket row saved by the workflow): changes/s and the ratio API/direct (goal ≥ 0.8);
 *  2. at `--rate` changes/s for `--seconds`: the accept latency (request → 202, p50/p99, goal p99 <
 *     100 ms) and upsert → service problem created in SNOW (p99, goal < 1 s), and the same at half the
 *     end-to-end capacity measured first (the rate the pipeline keeps up with);
 *  3. overload: 5× the sustained ingest rate of (1) offered for `--overload-seconds`: every request
 *     answered (202 or 429, no 5xx, no timeout), every accepted change applied exactly once, the
 *     process's memory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request, Agent } from 'undici';
import { count, like } from 'drizzle-orm';
import { buildApi } from '../../src/api/server';
import { loadTokens } from '../../src/api/auth';
import { upsertTicket } from '../../src/client/tickets';
import { tickets } from '../../src/db/schema';
import { createLog } from '../../src/telemetry/log';
import { freePort } from '../../src/infra/process';
import { median, percentile, pool, startBenchStack, type BenchStack } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');
const TOKEN = 'bench-api-token-0123456789abcdef';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      changes: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '60' },
      'overload-seconds': { type: 'string', default: '30' },
      api: { type: 'string', default: 'in-process' },
    },
  });
  const n = Number(values.changes);
  const rounds = Number(values.rounds);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const overloadSeconds = Number(values['overload-seconds']);
  if (![n, rounds, rate, seconds, overloadSeconds].every((x) => Number.isFinite(x) && x > 0)) throw new Error('every option takes a positive number');
  if (values.api !== 'in-process' && values.api !== 'process') throw new Error(`--api takes in-process or process, not ${values.api}`);

  const stack = await startBenchStack({ log: say });
  const { client, config, db, emulator } = stack;
  const api = values.api === 'process' ? await apiProcess(stack.dev.address, stack.databaseUrl) : await apiInProcess(stack);
  const base = api.url;
  // More connections than the API's in-flight bound, as many webhook senders would open: the bound, not the client, decides.
  const agent = new Agent({ connections: 4096, keepAliveTimeout: 30_000 });
  const post = async (body: unknown): Promise<{ status: number; ms: number }> => {
    const t0 = performance.now();
    const r = await request(`${base}/v1/tickets`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
    });
    await r.body.dump();
    return { status: r.statusCode, ms: performance.now() - t0 };
  };

  // Problems created in SNOW, by ticket id, with when (the emulator's clock, this process).
  let seen = 0;
  const createdAt = new Map<string, number>();
  const created = () => {
    for (; seen < emulator.requests.length; seen++) {
      const r = emulator.requests[seen]!;
      const correlationId = (r.body as { correlationId?: unknown } | null)?.correlationId;
      if (r.method === 'POST' && r.status === 201 && typeof correlationId === 'string') createdAt.set(correlationId.slice('ticket:'.length), Date.parse(r.at));
    }
    return createdAt;
  };
  const rowsLike = async (prefix: string) =>
    (
      await db
        .select({ n: count() })
        .from(tickets)
        .where(like(tickets.ticketId, `${prefix}%`))
    )[0]!.n;
  const waitRows = async (prefix: string, want: number, timeoutMs = 900_000) => {
    const deadline = Date.now() + timeoutMs;
    while ((await rowsLike(prefix)) < want) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${want} tickets ${prefix}*`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  try {
    say(`api benchmark: ${n} changes per round, ${rounds} rounds; ${os.cpus().length} cores; API ${base} (${values.api}), in-flight bound ${config.SLM_API_MAX_INFLIGHT}`);

    // 1. Sustained ingest, API vs the client directly. A state outside SNOW's active states keeps
    // the tmf side out of it: this compares the two ways in, on the same server and workers.
    const apiRates: number[] = [];
    const directRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const d0 = Date.now();
      await pool(
        Array.from({ length: n }, (_, i) => i),
        32,
        (i) => upsertTicket(client, config, { id: `DI${round}-${i}`, priority: 2, state: 'Queued', updatedAt: new Date().toISOString() }),
      );
      await waitRows(`DI${round}-`, n);
      const direct = n / ((Date.now() - d0) / 1000);
      const a0 = Date.now();
      let refused = 0;
      await pool(
        Array.from({ length: n }, (_, i) => i),
        32,
        async (i) => {
          const r = await post({ id: `AI${round}-${i}`, priority: 2, state: 'Queued', updatedAt: new Date().toISOString() });
          if (r.status !== 202) refused++;
        },
      );
      if (refused) throw new Error(`${refused} API requests were not accepted in the sustained round`);
      await waitRows(`AI${round}-`, n);
      const viaApi = n / ((Date.now() - a0) / 1000);
      directRates.push(direct);
      apiRates.push(viaApi);
      ratios.push(viaApi / direct);
      say(`round ${round}: direct ${direct.toFixed(1)} changes/s, through the API ${viaApi.toFixed(1)} changes/s, ratio ${(viaApi / direct).toFixed(3)}`);
    }
    say(`median: direct ${median(directRates).toFixed(1)}/s, API ${median(apiRates).toFixed(1)}/s, ratio API/direct ${median(ratios).toFixed(3)} (goal ≥ 0.8)`);

    // The end-to-end capacity: tickets that need a service problem, all at once.
    const capN = Math.min(n, 500);
    const c0 = Date.now();
    await pool(
      Array.from({ length: capN }, (_, i) => i),
      32,
      (i) => post({ id: `CAP-${i}`, priority: 2, state: 'New' }),
    );
    while ([...created().keys()].filter((k) => k.startsWith('CAP-')).length < capN) await new Promise((r) => setTimeout(r, 50));
    const capacity = capN / ((Date.now() - c0) / 1000);
    say(`end to end: ${capN} tickets through the API → problems created at ${capacity.toFixed(1)}/s`);

    // 2. Latency at a steady rate: the asked one, and half the capacity.
    const half = Math.max(1, Math.round(capacity / 2));
    for (const [tag, perSecond] of [
      ['RT-', rate],
      ['HF-', half],
    ] as const) {
      const total = Math.round(perSecond * seconds);
      const sentAt = new Map<string, number>();
      const accept: number[] = [];
      const statuses = new Map<number, number>();
      const t0 = Date.now();
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / perSecond;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const id = `${tag}${i}`;
        sentAt.set(id, Date.now());
        inflight.push(
          post({ id, priority: 2, state: 'New' }).then((r) => {
            accept.push(r.ms);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          }),
        );
      }
      await Promise.all(inflight);
      const deadline = Date.now() + 600_000;
      while ([...sentAt.keys()].some((id) => !created().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const lat = [...sentAt].filter(([id]) => createdAt.has(id)).map(([id, t]) => createdAt.get(id)! - t);
      say(
        `at ${perSecond} changes/s for ${seconds} s (${total} changes; answers ${[...statuses].map(([s, k]) => `${k}×${s}`).join(', ')}): accept p50 ${percentile(accept, 50).toFixed(1)} ms, p99 ${percentile(accept, 99).toFixed(1)} ms (goal p99 < 100 ms); ` +
          `upsert → problem created p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (goal p99 < 1000 ms)${lat.length < total ? `; ${total - lat.length} not created within 10 min` : ''}`,
      );
      await new Promise((r) => setTimeout(r, 3000));
    }

    // 3. Overload: 5× the sustained ingest rate offered, open loop (the changes need no service
    // problem, so what is measured is the API and the workflows taking them in).
    const offered = Math.round(median(apiRates) * 5);
    const total = offered * overloadSeconds;
    const rss = () => process.memoryUsage().rss + api.rss();
    const rss0 = rss();
    let rssPeak = rss0;
    const statuses = new Map<string, number>();
    const accepted: string[] = [];
    const t0 = Date.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / offered;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = `OV-${i}`;
      inflight.push(
        post({ id, priority: 2, state: 'Queued' }).then(
          (r) => {
            statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
            if (r.status === 202) accepted.push(id);
          },
          (err: Error) => void statuses.set(`error ${err.name}`, (statuses.get(`error ${err.name}`) ?? 0) + 1),
        ),
      );
      if (i % 100 === 0) rssPeak = Math.max(rssPeak, rss());
    }
    await Promise.all(inflight);
    rssPeak = Math.max(rssPeak, rss());
    say(
      `overload: ${total} changes offered at ${offered}/s (5× the sustained ingest rate) for ${overloadSeconds} s: answers ${[...statuses].map(([s, k]) => `${k}×${s}`).join(', ')}; ` +
        `memory of the processes (API, workers, client) ${Math.round(rss0 / 2 ** 20)} → peak ${Math.round(rssPeak / 2 ** 20)} MiB`,
    );
    await waitRows('OV-', accepted.length);
    // Exactly once: each accepted change is one signal in its ticket's history (a sample of 100).
    let once = 0;
    const sample = accepted.filter((_, k) => k % Math.max(1, Math.floor(accepted.length / 100)) === 0).slice(0, 100);
    for (const id of sample) {
      const events = (await client.workflow.getHandle(`ticket:${id}`).fetchHistory()).events ?? [];
      if (events.filter((e) => e.workflowExecutionSignaledEventAttributes).length === 1) once++;
    }
    const rows = await rowsLike('OV-');
    say(`overload: ${accepted.length} accepted, ${rows} tickets stored (each accepted one, no other); ${once}/${sample.length} sampled histories hold their change exactly once`);
  } finally {
    await api.close();
    await agent.close();
    await stack.stop();
  }
}

interface BenchApi {
  url: string;
  /** Resident memory of the API when it runs in a process of its own (0 in-process: counted with this one). */
  rss(): number;
  close(): Promise<void>;
}

/** The API in this process, as `npm start` runs it beside the workers. */
async function apiInProcess(stack: BenchStack): Promise<BenchApi> {
  const { tokens } = loadTokens({ SLM_API_TOKEN: TOKEN, SLM_API_TOKENS_FILE: undefined, SLM_DATA_DIR: os.tmpdir() }, { devToken: false });
  const app = await buildApi({
    ports: { temporal: async () => stack.client, db: async () => stack.db, settings: stack.config },
    tokens,
    maxInflight: stack.config.SLM_API_MAX_INFLIGHT,
    maxPending: stack.config.SLM_API_MAX_PENDING,
    idempotencyTtlSeconds: 86400,
    log: createLog('text', () => undefined),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, rss: () => 0, close: () => app.close() };
}

/** The API as a fleet runs it: `src/workers/api.ts` in a process of its own, on the same server and database. */
async function apiProcess(temporalAddress: string, databaseUrl: string): Promise<BenchApi> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: databaseUrl,
    SLM_API_TOKEN: TOKEN,
    SLM_API_HOST: '127.0.0.1',
    SLM_API_PORT: String(port),
  };
  delete env.SLM_API_TOKENS_FILE;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'src', 'workers', 'api.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the api process exited with ${child.exitCode} at start`);
    if (Date.now() > deadline) throw new Error('the api process did not answer /healthz within 60 s');
    const ok = await request(`${url}/healthz`).then(
      (r) => r.body.dump().then(() => r.statusCode === 200),
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    rss: () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
