/**
 * `npm run bench -- compliance [--requests 1000000] [--cis 1000] [--segments 5000] [--samples 200] [--live 60] [--parts recompute,incremental,live]`
 *
 * 1. recompute: one monthly agreement over R stored request measurements and C CIs × S segments (5,000,000
 *    by default) in PostgreSQL: the full recompute of its record (`aggregateRecord`, what `slm compliance
 *    recompute` runs), printed beside the time PostgreSQL takes merely to read those rows (a scan of the
 *    same rows: the bound), each the median of three runs.
 * 2. incremental: one more measurement closes (a row and its change-feed row, as a ticket run saves
 *    them), then a compliance tick: p50 / p99 over N samples at 10⁴, 10⁵ and 10⁶ stored measurements,
 *    and the record it leaves equal to a full recompute.
 * 3. live: on the dev server, L agreements with a `breached` milestone; a ticket of each closes Missed
 *    (through the CLI's upsert path; timed from the upsert's start) and the milestone's webhook arrives: measurement closed → record
 *    updated → milestone fired, p50 / p99.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { upsertTicketChecked } from '../../src/client/tickets';
import { migrateDb, openDb } from '../../src/db/client';
import { aggregateRecord, complianceTick, readRecords, requestRecompute } from '../../src/db/compliance';
import { applyDefinitions } from '../../src/db/queries';
import { BusinessCalendar } from '../../src/domain/calendar';
import { complianceEnv } from '../../src/domain/compliance/env';
import { periodOf } from '../../src/domain/compliance/periods';
import type { RecordAcc } from '../../src/domain/compliance/record';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { engineEnv } from '../../src/domain/request/engine';
import { startThrowawayPostgres } from '../../src/infra/postgres';
import { freePort } from '../../src/infra/process';
import { startWebhookReceiver } from '../support/catchers';
import { median, percentile, startBenchStack } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en');

const DEFS = {
  tenantField: 'company',
  serviceTargets: [
    { id: 'P1', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Resolved"', goal: { duration: '4h' }, costPerMinute: 2 },
    { id: 'web', type: 'availability', appliesTo: 'ci.class == "web"', goal: { availability: 99.5 }, costPerMinute: 1 },
  ],
  contracts: [{ id: 'acme', tenant: 'acme' }],
  agreements: [
    {
      id: 'acme-gold',
      contract: 'acme',
      reviewPeriods: ['monthly'],
      timezone: 'Europe/Berlin',
      compliance: { target: 95, atRisk: 97 },
      targets: [
        { serviceTarget: 'P1', weight: 2 },
        { serviceTarget: 'web', weight: 1 },
      ],
      penalties: [{ below: 95, amount: 1000 }],
    },
  ],
};
const MONTH = periodOf('monthly', 'Europe/Berlin', Date.UTC(2026, 2, 15));

/** Stored rows as the runs write them, made in PostgreSQL (generate_series), `from`…`to` by id. */
async function fillRequests(db: ReturnType<typeof openDb>['db'], from: number, to: number): Promise<void> {
  const span = (MONTH.end - MONTH.start) / 1000;
  await db.execute(sql`
    insert into measurements (subject_kind, subject_id, service_target_id, instance, status, stopped_at, due_at, missed_goal_at, goal_seconds,
      elapsed_seconds, paused_seconds, met_missed_seconds, impact_cost, engine_state, tenant, result_at)
    select 'ticket', 'T' || i, 'P1', 0, case when i % 20 = 3 then 'Missed' else 'Met' end, t, t, case when i % 20 = 3 then t end, 14400, 0, 0, 0,
      case when i % 20 = 3 then 12.5 end, '{}'::jsonb, case when i % 10 = 0 then 'globex' else 'acme' end, t
    from (select i, to_timestamp(${sql.raw(String(MONTH.start / 1000))} + ((i::bigint * 7919) % ${sql.raw(String(Math.floor(span)))})) as t from generate_series(${sql.raw(String(from))}, ${sql.raw(String(to - 1))}) i) x`);
}

async function fillSegments(db: ReturnType<typeof openDb>['db'], cis: number, perCi: number): Promise<void> {
  // perCi segments a CI, alternating up and down, spread over the month (a few cross its edges).
  const step = Math.floor((MONTH.end - MONTH.start + 2 * 3_600_000) / perCi / 1000);
  for (let c = 0; c < cis; c += 100) {
    await db.execute(sql`
      insert into measurement_segments (subject_kind, subject_id, service_target_id, instance, seq, status, start_at, stop_at, business_seconds, business_ms, counts, tenant)
      select 'ci', 'ci-' || c, 'web', 0, s, case when s % 2 = 0 then 'up' else 'down' end,
        to_timestamp(${sql.raw(String(MONTH.start / 1000 - 3600))} + s * ${sql.raw(String(step))}), to_timestamp(${sql.raw(String(MONTH.start / 1000 - 3600))} + (s + 1) * ${sql.raw(String(step))}),
        ${sql.raw(String(step))}, ${sql.raw(String(step * 1000))}, case when s % 2 = 0 then 'up' else 'down' end, 'acme'
      from generate_series(${sql.raw(String(c))}, ${sql.raw(String(Math.min(cis, c + 100) - 1))}) c, generate_series(0, ${sql.raw(String(perCi - 1))}) s`);
  }
}

/** A record's counts in one canonical text (keys sorted, CI sets sorted): PostgreSQL's jsonb reorders keys. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? (v as unknown[]).map(canonical).sort()
    : v !== null && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v;
const sortedAcc = (a: RecordAcc) => JSON.stringify(canonical(a));

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

async function storeBench(opts: { requests: number; cis: number; segments: number; samples: number; parts: Set<string> }): Promise<void> {
  const pg = await startThrowawayPostgres(await freePort(), { durable: true });
  const handle = openDb(pg.url, { max: 4 });
  const db = handle.db;
  try {
    await migrateDb(db);
    const defs = parseDefinitions(DEFS);
    await applyDefinitions(db, defs, 'bench');
    await db.execute(sql`update definitions set applied_at = '2026-01-01T00:00:00Z'`);
    const compiled = engineEnv(compileDefinitions(defs, '1'), (c) => BusinessCalendar.fromSpec(c));
    const env = complianceEnv(
      defs,
      (id) => compiled.calendar(id),
      () => Date.UTC(2026, 0, 1),
    );
    const scope = env.scopes[0]!;
    // The compliance state as live processing leaves it: counted up to now, nothing in the feed.
    await complianceTick(db, MONTH.start);

    if (opts.parts.has('recompute')) {
      say(`recompute: filling ${fmt(opts.requests)} request measurements and ${fmt(opts.cis)} CIs × ${fmt(opts.segments)} segments …`);
      const [fillMs] = await timed(async () => {
        await fillRequests(db, 0, opts.requests);
        await fillSegments(db, opts.cis, opts.segments);
        await db.execute(sql`delete from compliance_changes`);
        await db.execute(sql`vacuum analyze measurements`);
        await db.execute(sql`vacuum analyze measurement_segments`);
      });
      say(`  filled in ${(fillMs / 1000).toFixed(1)} s`);
      const reads: number[] = [];
      const recomputes: number[] = [];
      let acc: RecordAcc | null = null;
      for (let round = 0; round < 3; round++) {
        const [readMs, n] = await timed(async () => {
          const r1 = await db.execute<{ n: string; s: string }>(
            sql`select count(*)::text as n, sum(coalesce(impact_cost, 0))::text as s from measurements where service_target_id = 'P1' and result_at >= ${new Date(MONTH.start).toISOString()}::timestamptz and result_at < ${new Date(MONTH.end).toISOString()}::timestamptz`,
          );
          const r2 = await db.execute<{ n: string; s: string }>(
            sql`select count(*)::text as n, sum(business_ms)::text as s from measurement_segments where subject_kind = 'ci' and service_target_id = 'web' and start_at < ${new Date(MONTH.end).toISOString()}::timestamptz and stop_at > ${new Date(MONTH.start).toISOString()}::timestamptz`,
          );
          return Number(r1.rows[0]!.n) + Number(r2.rows[0]!.n);
        });
        const [ms, a] = await timed(() => aggregateRecord(db, env, scope, 'monthly', MONTH));
        reads.push(readMs);
        recomputes.push(ms);
        acc = a;
        say(`  round ${round + 1}: read ${fmt(n)} rows ${fmt(readMs)} ms; full recompute of the monthly record ${fmt(ms)} ms`);
      }
      const t = acc!.targets;
      say(
        `  record: P1 ${t.P1?.met} met / ${t.P1?.missed} missed (acme's only); web ${t.web?.cis.length} CIs, down ${fmt((t.web?.downMs ?? 0) / 1000)} s, ${t.web?.downCount} outages`,
      );
      say(
        `recompute: median ${fmt(median(recomputes))} ms for ${fmt(opts.requests)} request measurements + ${fmt(opts.cis * opts.segments)} CI segments (goal ≤ 2,000 ms); reading those rows alone: median ${fmt(median(reads))} ms; ratio ${(median(recomputes) / median(reads)).toFixed(2)}`,
      );
      await db.execute(sql`truncate measurements, measurement_segments, compliance_records, compliance_facts, compliance_changes, compliance_state`);
    }

    if (opts.parts.has('incremental')) {
      let stored = 0;
      for (const size of [10_000, 100_000, 1_000_000]) {
        if (size > opts.requests) break;
        await fillRequests(db, stored, size);
        stored = size;
        // The store as live processing left it: the records counted (a recount from the store), the feed empty.
        await db.execute(sql`delete from compliance_changes`);
        await db.execute(sql`vacuum analyze measurements`);
        await requestRecompute(db, MONTH.start);
        await complianceTick(db, MONTH.start + 20 * 86_400_000);
        const lat: number[] = [];
        for (let i = 0; i < opts.samples; i++) {
          const id = `N${size}-${i}`;
          const at = MONTH.start + 20 * 86_400_000 + i * 1000;
          await db.execute(sql`
            insert into measurements (subject_kind, subject_id, service_target_id, instance, status, stopped_at, due_at, goal_seconds, elapsed_seconds, paused_seconds,
              met_missed_seconds, engine_state, tenant, result_at)
            values ('ticket', ${id}, 'P1', 0, ${i % 3 === 0 ? 'Missed' : 'Met'}, ${new Date(at).toISOString()}::timestamptz, ${new Date(at).toISOString()}::timestamptz, 14400, 0, 0, 0, '{}'::jsonb, 'acme', ${new Date(at).toISOString()}::timestamptz)`);
          await db.execute(sql`insert into compliance_changes (subject_kind, subject_id, service_target_id, instance) values ('ticket', ${id}, 'P1', 0)`);
          const [ms, r] = await timed(() => complianceTick(db, at + 10));
          if (r.counted !== 1) throw new Error(`tick counted ${r.counted}, expected 1`);
          lat.push(ms);
        }
        const live = (await readRecords(db, null, { agreementId: 'acme-gold', at: MONTH.start + 1 }, MONTH.end + 1))[0]!;
        const [, full] = await timed(() => aggregateRecord(db, env, scope, 'monthly', MONTH));
        const [stRow] = (await db.execute<{ acc: RecordAcc }>(sql`select acc from compliance_records where agreement_id = 'acme-gold' and review_period = 'monthly'`)).rows;
        const equal = sortedAcc(full) === sortedAcc(stRow!.acc);
        say(
          `incremental at ${fmt(size + opts.samples)} stored measurements: one more closes → tick p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (goal p99 ≤ 50 ms); record ${live.percent} % equal to a full recompute: ${equal ? 'yes' : 'NO'}`,
        );
        if (!equal) throw new Error(`incremental ≠ full recompute:\n${sortedAcc(full)}\n${sortedAcc(stRow!.acc)}`);
      }
    }
  } finally {
    await handle.close();
    await pg.stop();
  }
}

async function liveBench(agreements: number): Promise<void> {
  const receiver = await startWebhookReceiver();
  const defs = {
    serviceTargets: Array.from({ length: agreements + 1 }, (_, i) => ({
      id: `L${i}`,
      appliesTo: `ticket.lane == ${i}`,
      stop: 'ticket.state == "Resolved"',
      goal: { duration: '1h' },
      startTime: { fromField: 'openedAt' },
    })),
    agreements: Array.from({ length: agreements + 1 }, (_, i) => ({
      id: `lane-${i}`,
      reviewPeriods: ['monthly'],
      compliance: { target: 95 },
      targets: [{ serviceTarget: `L${i}`, weight: 1 }],
      milestones: [{ name: 'breach', at: 'breached', actions: [{ notify: { webhook: `${receiver.url}/lane-${i}` } }] }],
    })),
  };
  const stack = await startBenchStack({ log: () => undefined, definitions: defs });
  try {
    const lat: number[] = [];
    // Lane 0 warms up (the compliance run starts, the worker's caches fill); lanes 1… are measured.
    for (let i = 0; i <= agreements; i++) {
      const opened = new Date(Date.now() - 2 * 3_600_000).toISOString();
      const t0 = Date.now();
      // Closed two hours after it opened: Missed at once, the lane's record at 0 % — Breached.
      await upsertTicketChecked(stack.client, stack.config, { id: `live-${i}`, lane: i, state: 'Resolved', openedAt: opened });
      for (;;) {
        const hook = receiver.hooks.find((h) => h.path === `/lane-${i}`);
        if (hook) {
          if (i > 0) lat.push(Date.parse(hook.receivedAt) - t0);
          break;
        }
        if (Date.now() - t0 > 30_000) throw new Error(`lane-${i}: no milestone webhook in 30 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    say(
      `live: measurement closed → record updated → compliance milestone webhook, ${agreements} agreements one after another: p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (goal p99 < 1,000 ms)`,
    );
  } finally {
    await stack.stop();
    await receiver.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      requests: { type: 'string', default: '1000000' },
      cis: { type: 'string', default: '1000' },
      segments: { type: 'string', default: '5000' },
      samples: { type: 'string', default: '200' },
      live: { type: 'string', default: '60' },
      parts: { type: 'string', default: 'recompute,incremental,live' },
    },
  });
  const parts = new Set(values.parts.split(','));
  say(`bench compliance on ${os.cpus().length} cores, node ${process.version}`);
  await storeBench({ requests: Number(values.requests), cis: Number(values.cis), segments: Number(values.segments), samples: Number(values.samples), parts });
  if (parts.has('live')) await liveBench(Number(values.live));
}
