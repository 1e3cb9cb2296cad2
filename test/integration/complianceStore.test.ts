/**
 * Compliance records in PostgreSQL (DESIGN §4.8), driven step by step with the engines' own states:
 * each instant `slm compliance replay` processes is saved through the real save functions (the ones
 * the ticket and CI runs call) and followed by a compliance tick at that instant. The live store must
 * give the records replay gives, settle a penalty exactly once even when the connection dies between
 * the computation and the commit, recompute to the same figures, and keep tenants apart under
 * row-level security.
 */
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Client as PgClient } from 'pg';
import * as schema from '../../src/db/schema';
import { saveCiState } from '../../src/db/ciQueries';
import { complianceTick, listPoints, readRecords, requestRecompute } from '../../src/db/compliance';
import { hurting } from '../../src/db/dashboard';
import { saveTicketState } from '../../src/db/queries';
import { BusinessCalendar } from '../../src/domain/calendar';
import { toCiView } from '../../src/domain/ci/engine';
import { scopeKey, type ComplianceRecordView } from '../../src/domain/compliance/record';
import { complianceReplay, type ReplayInstant } from '../../src/domain/compliance/replay';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { engineEnv } from '../../src/domain/request/engine';
import { toView } from '../../src/domain/request/measurement';
import { parseEvents } from '../../src/domain/replay';
import { applyTestDefinitions, freshDatabase } from '../support/harness';

type Line = Record<string, unknown>;
const H = 3_600_000;

const definitions = {
  tenantField: 'company',
  serviceTargets: [
    { id: 'P1', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Resolved"', goal: { duration: '1h' }, costPerMinute: 1 },
    { id: 'web', type: 'availability', appliesTo: 'ci.class == "web"', goal: { availability: 99 }, costPerMinute: 2 },
  ],
  contracts: [
    { id: 'acme', tenant: 'acme' },
    { id: 'globex', tenant: 'globex' },
  ],
  agreements: [
    {
      id: 'acme-gold',
      contract: 'acme',
      reviewPeriods: ['daily', 'monthly'],
      timezone: 'Europe/Berlin',
      compliance: { target: 95, atRisk: 97 },
      targets: [
        { serviceTarget: 'P1', weight: 2 },
        { serviceTarget: 'web', weight: 1 },
      ],
      penalties: [{ below: 95, amount: 1000 }],
      rewards: [{ atLeast: 99.5, amount: 50 }],
      milestones: [{ name: 'breach', at: 'breached', actions: [{ notify: { webhook: 'http://127.0.0.1:9/x' } }] }],
    },
    { id: 'globex-gold', contract: 'globex', reviewPeriods: ['daily'], timezone: 'UTC', compliance: { target: 90 }, targets: [{ serviceTarget: 'P1', weight: 1 }] },
    { id: 'everyone', reviewPeriods: ['weekly'], timezone: 'UTC', compliance: { target: 90 }, targets: [{ serviceTarget: 'P1', weight: 1 }] },
  ],
};

const at = (day: number, hour: number) => new Date(Date.UTC(2026, 2, day, hour)).toISOString();
const events: Line[] = [
  { at: at(2, 8), ci: { id: 'w1', class: 'web', status: 'up', company: 'acme' } },
  { at: at(2, 9), ticket: { id: 'a1', priority: 1, state: 'New', company: 'acme' } },
  { at: at(2, 9), ticket: { id: 'g1', priority: 1, state: 'New', company: 'globex' } },
  { at: at(2, 9.5), ticket: { id: 'a1', priority: 1, state: 'Resolved', company: 'acme' } },
  { at: at(2, 12), ci: { id: 'w1', class: 'web', status: 'down', company: 'acme' } },
  { at: at(2, 13), check: 'down' },
  { at: at(2, 14), ci: { id: 'w1', class: 'web', status: 'up', company: 'acme' } },
  { at: at(2, 15), ticket: { id: 'g1', priority: 1, state: 'Resolved', company: 'globex' } },
  { at: at(3, 10), ticket: { id: 'a2', priority: 1, state: 'New', company: 'acme' } },
  { at: at(3, 13), ticket: { id: 'a2', priority: 1, state: 'Resolved', company: 'acme' } },
  // A reopen on the 4th moves a1's result out of the closed day of the 2nd.
  { at: at(4, 9), ticket: { id: 'a1', priority: 1, state: 'New', company: 'acme' } },
  { at: at(4, 12), ticket: { id: 'a1', priority: 1, state: 'Resolved', company: 'acme' } },
  { at: at(5, 1), check: 'end' },
].map((l) => ({ ...l, at: typeof l.at === 'string' ? l.at : l.at }));

const parsed = parseEvents(events.map((l) => JSON.stringify(l)).join('\n'));
const steps: ReplayInstant[] = [];
const replayed = complianceReplay(definitions, parsed, { onInstant: (i) => steps.push(structuredClone(i)) });

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase('compliance-store');
  await applyTestDefinitions(db, definitions);
  // Defined before the history starts (replay's definitions file holds from the beginning).
  await db.db.execute(sql`update definitions set applied_at = '2026-01-01T00:00:00Z'`);
});
afterAll(async () => {
  await db?.close();
});

const env = engineEnv(compileDefinitions(parseDefinitions(definitions), '1'), (c) => BusinessCalendar.fromSpec(c));

/** Saves every ticket and CI as a run would at `step.at`, then ticks. */
async function drive(step: ReplayInstant, tick = true, into = db) {
  for (const t of step.tickets) {
    if (!t.ticket) continue;
    await saveTicketState(into.db, {
      ticketId: t.ticketId,
      ticket: t.ticket,
      measurements: t.measurements.map((m) => ({ state: m, view: toView(m, step.at, env.calendar(m.calendarId)) })),
      problem: null,
      lastError: null,
    });
  }
  for (const c of step.cis) {
    const views = c.measurements.map((m) => toCiView(c.ciId, m, step.at, env.calendar(m.calendarId)));
    await saveCiState(into.db, {
      ciId: c.ciId,
      ci: c.ci,
      kpis: c.kpis,
      measurements: views,
      segments: views.flatMap((v, i) => v.segments.map((s, seq) => ({ serviceTargetId: v.serviceTargetId, instance: c.measurements[i]!.instance, seq, ...s }))),
      rejectedChanges: [],
    });
  }
  return tick ? complianceTick(into.db, step.at) : null;
}

const comparable = (rs: ComplianceRecordView[]) =>
  [...rs].sort((a, b) => `${a.agreementId}|${a.reviewPeriod}|${a.periodStart}`.localeCompare(`${b.agreementId}|${b.reviewPeriod}|${b.periodStart}`));

it('records kept live in PostgreSQL equal `slm compliance replay` at every check, step by step', async () => {
  const checks = new Map(replayed.lines.map((l) => [Date.parse(l.at), l]));
  let compared = 0;
  const settlements: string[] = [];
  for (const step of steps) {
    const r = (await drive(step))!;
    settlements.push(...r.settlements.map((s) => s.key));
    const line = checks.get(step.at);
    if (line && step === steps.filter((s) => s.at === step.at).at(-1)) {
      const live = await readRecords(db.db, null, {}, step.at);
      expect(comparable(live)).toEqual(comparable(line.compliance));
      compared++;
    }
  }
  expect(compared).toBe(2);
  const end = replayed.lines.at(-1)!.compliance;
  const day2 = end.find((r) => r.agreementId === 'acme-gold' && r.reviewPeriod === 'daily' && r.periodStart === '2026-03-02T00:00:00+01:00')!;
  // Closed with a1 met and two hours of outage in the 15 h the CI was known that day (attached at
  // 09:00 Berlin); a1's reopen later moved its result out of that day: amended to the CI alone.
  const web = 100 - (100 * 2) / 15;
  expect(day2).toMatchObject({ closed: true, amendedAt: '2026-03-04T09:00:00.000Z' });
  expect(day2.targets.map((t) => t.percent)).toEqual([100, Math.round(web * 1e9) / 1e9]);
  expect(day2.percent).toBeCloseTo((2 * 100 + web) / 3, 6);
  expect(day2.amendedPercent).toBeCloseTo(web, 6);
  // Every settlement the store booked is one the replay produced, once.
  const expected = replayed.effects.filter((e) => e.kind === 'settlement').map((e) => e.key);
  expect(settlements.sort()).toEqual([...expected].sort());
  const ledger = await db.db.execute<{ n: string }>(sql`select count(*)::text as n from compliance_settlements`);
  expect(Number(ledger.rows[0]!.n)).toBe(expected.length);
});

it('settles exactly once when the connection dies between the computation and the write', async () => {
  // The close-out of the 5 March records: the tick computes it, then its connection is killed before the commit.
  const when = Date.UTC(2026, 2, 6, 1);
  const count = async () => Number((await db.db.execute<{ n: string }>(sql`select count(*)::text as n from compliance_settlements`)).rows[0]!.n);
  const before = await count();
  const killer = new PgClient({ connectionString: db.url });
  await killer.connect();
  // The tick's own connection, as a worker process holds it: it dies with the "worker".
  const doomed = new PgClient({ connectionString: db.url });
  doomed.on('error', () => undefined);
  await doomed.connect();
  try {
    await expect(
      complianceTick(drizzle(doomed, { schema, casing: 'snake_case' }), when, {
        beforeCommit: async (tx) => {
          const pid = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
          await killer.query('select pg_terminate_backend($1)', [pid.rows[0]!.pid]);
        },
      }),
    ).rejects.toThrow();
  } finally {
    await killer.end();
    await doomed.end().catch(() => undefined);
  }
  expect(await count()).toBe(before);
  const first = await complianceTick(db.db, when);
  expect(first.settlements.map((s) => `${s.agreementId} ${s.periodStart}`).sort()).toEqual(['acme-gold 2026-03-05T00:00:00+01:00', 'globex-gold 2026-03-05T00:00:00Z']);
  expect(await count()).toBe(before + 2);
  const again = await complianceTick(db.db, when + H);
  expect(again.settlements).toEqual([]);
  expect(await count()).toBe(before + 2);
});

it('periods that ended while the whole service was down are each closed, and settled once, when it is back', async () => {
  const count = async () => Number((await db.db.execute<{ n: string }>(sql`select count(*)::text as n from compliance_settlements`)).rows[0]!.n);
  const before = await count();
  // Nothing ticked from 6 March 02:00 to 9 March 01:00: acme-gold's and globex-gold's days of the 6th,
  // 7th and 8th close now, and everyone's week from Monday the 2nd.
  const r = await complianceTick(db.db, Date.UTC(2026, 2, 9, 1));
  expect(r.settlements.map((x) => `${x.agreementId} ${x.periodStart}`).sort()).toEqual([
    'acme-gold 2026-03-06T00:00:00+01:00',
    'acme-gold 2026-03-07T00:00:00+01:00',
    'acme-gold 2026-03-08T00:00:00+01:00',
    'everyone 2026-03-02T00:00:00Z',
    'globex-gold 2026-03-06T00:00:00Z',
    'globex-gold 2026-03-07T00:00:00Z',
    'globex-gold 2026-03-08T00:00:00Z',
  ]);
  expect(await count()).toBe(before + 7);
  const days = await readRecords(db.db, null, { agreementId: 'acme-gold', reviewPeriod: 'daily', closed: true }, Date.UTC(2026, 2, 9, 1));
  expect(days.filter((d) => d.periodStart >= '2026-03-06').map((d) => d.closed)).toEqual([true, true, true]);
});

it('a recompute from the stored measurements gives the figures live processing produced', async () => {
  const at = Date.UTC(2026, 2, 9, 2);
  const before = comparable(await readRecords(db.db, null, {}, at));
  const counts = async () =>
    (
      await db.db.execute<{ k: string; acc: { targets: Record<string, { cis: string[] }> } }>(
        sql`select scope || review_period || period_start as k, acc from compliance_records order by 1`,
      )
    ).rows.map(({ k, acc }) => [k, JSON.stringify(Object.entries(acc.targets).map(([t, x]) => [t, { ...x, cis: [...x.cis].sort() }]))]);
  const counted = await counts();
  // The counts forgotten: only the recount from the stored measurements can bring them back.
  await db.db.execute(sql`update compliance_records set acc = jsonb_set(acc, '{targets}', '{}'::jsonb)`);
  await requestRecompute(db.db, Date.UTC(2026, 2, 1));
  const r = await complianceTick(db.db, at);
  expect(r.settlements).toEqual([]);
  expect(await counts()).toEqual(counted);
  expect(comparable(await readRecords(db.db, null, {}, at))).toEqual(before);
});

it('row-level security: a connection scoped to one tenant reads none of another’s measurements or records', async () => {
  const scoped = async (tenant: string, query: string) => {
    const c = new PgClient({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('begin');
      await c.query('set local role slm_tenant');
      await c.query("select set_config('slm.tenant', $1, true)", [tenant]);
      return (await c.query(query)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };
  // Even asking for them by name, acme sees nothing of globex.
  expect(await scoped('acme', "select * from measurements where tenant = 'globex'")).toEqual([]);
  expect(await scoped('acme', "select * from tickets where ticket_id = 'g1'")).toEqual([]);
  expect(await scoped('acme', "select * from compliance_records where agreement_id = 'globex-gold'")).toEqual([]);
  expect(await scoped('acme', "select * from compliance_settlements where agreement_id <> 'acme-gold'")).toEqual([]);
  const mine = await scoped('acme', 'select distinct agreement_id from compliance_records');
  expect(mine).toEqual([{ agreement_id: 'acme-gold' }]);
  expect((await scoped('acme', 'select distinct tenant from measurements')).map((r) => r.tenant)).toEqual(['acme']);
  expect((await scoped('globex', 'select ticket_id from tickets')).map((r) => r.ticket_id)).toEqual(['g1']);
  // The app's reads go through the same role.
  const asAcme = await readRecords(db.db, 'acme', {}, Date.UTC(2026, 2, 6));
  expect(new Set(asAcme.map((r) => r.agreementId))).toEqual(new Set(['acme-gold']));
});

it('an agreement removed from the definitions keeps its records as they were; the others go on', async () => {
  const at = Date.UTC(2026, 2, 9, 3);
  const before = (await readRecords(db.db, null, { agreementId: 'everyone' }, at)).map((r) => r.percent);
  expect(before.length).toBeGreaterThan(0);
  await applyTestDefinitions(db, { ...definitions, agreements: definitions.agreements.filter((a) => a.id !== 'everyone') });
  await complianceTick(db.db, at);
  const after = await readRecords(db.db, null, { agreementId: 'everyone' }, at);
  expect(after.map((r) => r.percent)).toEqual(before);
  expect(after.every((r) => r.agreementId === 'everyone' && r.targets.length === 1)).toBe(true);
  expect((await readRecords(db.db, null, { agreementId: 'acme-gold' }, at)).length).toBeGreaterThan(0);
});

it('each tick writes the percent of the records it changed as a chart point; what pulls a day down is its missed tickets and down CIs', async () => {
  const own = await freshDatabase('compliance-points');
  try {
    await applyTestDefinitions(own, definitions);
    await own.db.execute(sql`update definitions set applied_at = '2026-01-01T00:00:00Z'`);
    const day2 = Date.parse('2026-03-02T00:00:00+01:00');
    const key = { scope: scopeKey('acme-gold', 'acme'), reviewPeriod: 'daily', periodStart: day2 };
    const pointsNow = () => own.db.transaction((tx) => listPoints(tx, [key]));
    const written = new Set<number>();
    for (const step of steps.filter((s) => s.at < Date.UTC(2026, 2, 3))) {
      await drive(step, true, own);
      const point = (await pointsNow()).find((p) => p.at.getTime() === step.at);
      if (!point) continue;
      // The point is the record's percent as read at that instant (its close at the day's end).
      const record = (await readRecords(own.db, null, { agreementId: 'acme-gold', reviewPeriod: 'daily', at: day2 }, step.at))[0]!;
      expect(point.percent).toBe(record.percent);
      written.add(step.at);
    }
    const points = await pointsNow();
    // One point per instant that changed the record (each in its own quarter-hour of the day).
    expect(written.size).toBeGreaterThanOrEqual(3);
    expect(points).toHaveLength(written.size);
    expect(points.map((p) => p.at.getTime())).toEqual([...points.map((p) => p.at.getTime())].sort((a, b) => a - b));

    const end = Date.UTC(2026, 2, 3);
    // acme's day (Berlin): a1 met, w1 down 12:00–14:00 UTC — two hours in one outage.
    const acme = await own.db.transaction((tx) =>
      hurting(tx, { requestTargets: ['P1'], ciTargets: ['web'], from: day2, to: Date.parse('2026-03-03T00:00:00+01:00'), now: end, tenant: 'acme', limit: 25 }),
    );
    expect(acme).toEqual({ tickets: [], ticketsTotal: 0, cis: [{ ciId: 'w1', serviceTargetId: 'web', downSeconds: 7200, outages: 1 }] });
    // globex's day (UTC): g1 missed its hour (due 10:00, resolved 15:00); w1 is acme's.
    const globex = await own.db.transaction((tx) =>
      hurting(tx, { requestTargets: ['P1'], ciTargets: ['web'], from: Date.UTC(2026, 2, 2), to: end, now: end, tenant: 'globex', limit: 25 }),
    );
    expect(globex).toEqual({
      tickets: [{ ticketId: 'g1', serviceTargetId: 'P1', status: 'Missed', resultAt: '2026-03-02T10:00:00.000Z', impactCost: 300 }],
      ticketsTotal: 1,
      cis: [],
    });
  } finally {
    await own.close();
  }
});
