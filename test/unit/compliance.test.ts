/**
 * Agreements and compliance (DESIGN §4.8) through `slm compliance replay`'s pure function and the
 * compliance book: the seed's examples, the counting rules, periods, tenancy, amendments, penalties,
 * the forecast, and the properties the issue names.
 */
import fc from 'fast-check';
import { ComplianceBook, recomputeBook, type SettlementEffect } from '../../src/domain/compliance/book';
import { complianceEnv } from '../../src/domain/compliance/env';
import type { Fact, RequestFact } from '../../src/domain/compliance/facts';
import { periodOf, periodsBetween } from '../../src/domain/compliance/periods';
import type { ComplianceRecordView } from '../../src/domain/compliance/record';
import { complianceReplay } from '../../src/domain/compliance/replay';
import { TWENTY_FOUR_SEVEN } from '../../src/domain/calendar';
import { parseDefinitions } from '../../src/domain/definitions';
import { parseEvents } from '../../src/domain/replay';

type Line = Record<string, unknown>;
const H = 3_600_000;

const request = (id: string, goal = '1h', extra: Record<string, unknown> = {}) => ({
  id,
  appliesTo: `ticket.cat == "${id}"`,
  stop: 'ticket.state == "Resolved"',
  goal: { duration: goal },
  ...extra,
});
const availability = (id = 'web', extra: Record<string, unknown> = {}) => ({ id, type: 'availability', appliesTo: 'ci.class == "web"', goal: { availability: 99 }, ...extra });
const agreement = (extra: Record<string, unknown> = {}) => ({
  id: 'gold',
  reviewPeriods: ['monthly'],
  timezone: 'Europe/Berlin',
  compliance: { target: 95, atRisk: 97 },
  targets: [{ serviceTarget: 'A', weight: 1 }],
  ...extra,
});

function run(defs: unknown, lines: Line[]) {
  return complianceReplay(defs, parseEvents(lines.map((l) => JSON.stringify(l)).join('\n')));
}
const endRecords = (defs: unknown, lines: Line[]) => run(defs, lines).lines.at(-1)!.compliance;
const one = (records: ComplianceRecordView[], start: string, agreementId = 'gold', contractId: string | null = null) => {
  const r = records.find((x) => x.periodStart === start && x.agreementId === agreementId && x.contractId === contractId);
  if (!r) throw new Error(`no record ${agreementId}/${contractId} from ${start} in ${records.map((x) => `${x.agreementId}/${x.contractId}@${x.periodStart}`).join(', ')}`);
  return r;
};

/** A ticket of target `cat` opened at `open` and resolved at `resolve` (ISO instants). */
const ticket = (id: string, cat: string, open: string, resolve: string | null, extra: Record<string, unknown> = {}): Line[] => [
  { at: open, ticket: { id, cat, state: 'New', ...extra } },
  ...(resolve ? [{ at: resolve, ticket: { id, cat, state: 'Resolved', ...extra } }] : []),
];
const byTime = (lines: Line[]) => [...lines].sort((a, b) => Date.parse(a.at as string) - Date.parse(b.at as string));

describe('the seed weighted example (p. 21)', () => {
  it('weights 20/10/5/5 at 90/90/85/75 % give 87.5 %', () => {
    const defs = {
      serviceTargets: ['A', 'B', 'C', 'D'].map((c) => request(c)),
      agreements: [
        agreement({
          compliance: { target: 88, atRisk: 95 },
          targets: [
            { serviceTarget: 'A', weight: 20 },
            { serviceTarget: 'B', weight: 10 },
            { serviceTarget: 'C', weight: 5 },
            { serviceTarget: 'D', weight: 5 },
          ],
          penalties: [
            { below: 88, atLeast: 80, amount: 1000 },
            { below: 80, amount: 5000 },
          ],
        }),
      ],
    };
    const lines: Line[] = [];
    let h = 0;
    for (const [cat, met] of [
      ['A', 18],
      ['B', 18],
      ['C', 17],
      ['D', 15],
    ] as const) {
      for (let i = 0; i < 20; i++, h += 3) {
        const open = new Date(Date.UTC(2026, 2, 2) + h * H).toISOString();
        const resolve = new Date(Date.UTC(2026, 2, 2) + (h + (i < met ? 0.5 : 2)) * H).toISOString();
        lines.push(...ticket(`${cat}${i}`, cat, open, resolve));
      }
    }
    lines.push({ at: '2026-04-02T00:00:00Z', check: 'april' });
    const r = one(endRecords(defs, byTime(lines)), '2026-03-01T00:00:00+01:00');
    expect(r.targets.map((t) => t.percent)).toEqual([90, 90, 85, 75]);
    expect(r.targets.map((t) => [t.met, t.missed])).toEqual([
      [18, 2],
      [18, 2],
      [17, 3],
      [15, 5],
    ]);
    expect(r.percent).toBe(87.5);
    expect(r.status).toBe('Breached');
    expect(r.closed).toBe(true);
    expect(r.penalty).toBe(1000);
    expect(r.periodEnd).toBe('2026-04-01T00:00:00+02:00');
  });
});

describe('request counting rules', () => {
  const defs = { serviceTargets: [request('A')], agreements: [agreement()] };

  it('a result counts in the period holding its result instant: Met at its stop, Missed at its due instant', () => {
    const lines = byTime([
      // Met at 23:30 local on 31 March (21:30Z): March.
      ...ticket('t1', 'A', '2026-03-31T21:00:00Z', '2026-03-31T21:30:00Z'),
      // Met at 00:30 local on 1 April (22:30Z on 31 March): April.
      ...ticket('t2', 'A', '2026-03-31T22:00:00Z', '2026-03-31T22:30:00Z'),
      // Opened 23:00 local, due 00:00 local on 1 April, resolved on 2 April: missed in April (its due instant).
      ...ticket('t3', 'A', '2026-03-31T21:00:00Z', null),
      { at: '2026-04-02T10:00:00Z', ticket: { id: 't3', cat: 'A', state: 'Resolved' } },
      ...ticket('t0', 'A', '2026-03-05T10:00:00Z', '2026-03-05T10:10:00Z'),
    ]);
    const records = endRecords(defs, lines);
    const march = one(records, '2026-03-01T00:00:00+01:00');
    const april = one(records, '2026-04-01T00:00:00+02:00');
    expect([march.targets[0]!.met, march.targets[0]!.missed]).toEqual([2, 0]);
    expect([april.targets[0]!.met, april.targets[0]!.missed]).toEqual([1, 1]);
    expect(april.percent).toBe(50);
  });

  it('MissedGoal counts as missed, and a period closes with it even while the ticket stays open', () => {
    const lines = [...ticket('t1', 'A', '2026-03-10T10:00:00Z', null), { at: '2026-04-05T00:00:00Z', check: 'april' }];
    const march = one(endRecords(defs, lines), '2026-03-01T00:00:00+01:00');
    expect(march.closed).toBe(true);
    expect([march.targets[0]!.met, march.targets[0]!.missed]).toEqual([0, 1]);
    expect(march.percent).toBe(0);
    expect(march.status).toBe('Breached');
  });

  it('Detached and Invalid measurements are not counted; an agreement with nothing counted reads null', () => {
    const lines = [
      { at: '2026-03-10T10:00:00Z', ticket: { id: 't1', cat: 'A', state: 'New' } },
      { at: '2026-03-10T10:10:00Z', ticket: { id: 't1', cat: 'Z', state: 'New' } },
      { at: '2026-03-12T00:00:00Z', check: 'later' },
    ];
    const march = one(endRecords(defs, lines), '2026-03-01T00:00:00+01:00');
    expect(march.targets[0]!.met).toBe(0);
    expect(march.targets[0]!.missed).toBe(0);
    expect(march.percent).toBeNull();
    expect(march.status).toBeNull();
  });

  it('impact cost sums costPerMinute × minutes over the goal of missed measurements', () => {
    const d = { serviceTargets: [request('A', '1h', { costPerMinute: 2 })], agreements: [agreement()] };
    const march = one(endRecords(d, ticket('t1', 'A', '2026-03-10T10:00:00Z', '2026-03-10T11:30:00Z')), '2026-03-01T00:00:00+01:00');
    expect(march.targets[0]!.impactCost).toBe(60);
    expect(march.impactCost).toBe(60);
  });
});

describe('review periods', () => {
  it('a monthly period holding a DST change is 743 or 745 hours (Europe/Berlin)', () => {
    const march = periodOf('monthly', 'Europe/Berlin', Date.UTC(2026, 2, 15));
    const october = periodOf('monthly', 'Europe/Berlin', Date.UTC(2026, 9, 15));
    expect((march.end - march.start) / H).toBe(743);
    expect((october.end - october.start) / H).toBe(745);
  });

  it('a week starts on Monday and crosses the new year; a quarter starts in January, April, July or October', () => {
    const week = periodOf('weekly', 'UTC', Date.UTC(2027, 0, 2));
    expect(new Date(week.start).toISOString()).toBe('2026-12-28T00:00:00.000Z');
    expect(new Date(week.end).toISOString()).toBe('2027-01-04T00:00:00.000Z');
    const q = periodOf('quarterly', 'America/New_York', Date.UTC(2026, 4, 20));
    expect(new Date(q.start).toISOString()).toBe('2026-04-01T04:00:00.000Z');
    expect(new Date(q.end).toISOString()).toBe('2026-07-01T04:00:00.000Z');
    expect(periodsBetween('daily', 'Europe/Berlin', Date.UTC(2026, 2, 28, 12), Date.UTC(2026, 2, 30, 12)).map((p) => (p.end - p.start) / H)).toEqual([24, 23, 24]);
  });

  it('availability over a DST month counts down from 100 over 743 hours: 7.43 h down is 99 %', () => {
    const defs = { serviceTargets: [availability()], agreements: [agreement({ targets: [{ serviceTarget: 'web', weight: 1 }] })] };
    const lines = [
      { at: '2026-02-28T23:00:00Z', ci: { id: 'w1', class: 'web', status: 'up' } },
      { at: '2026-03-10T00:00:00Z', ci: { id: 'w1', class: 'web', status: 'down' } },
      { at: '2026-03-10T07:25:48Z', ci: { id: 'w1', class: 'web', status: 'up' } },
      { at: '2026-04-03T00:00:00Z', check: 'april' },
    ];
    const march = one(endRecords(defs, lines), '2026-03-01T00:00:00+01:00');
    const t = march.targets[0]!;
    expect(t.downSeconds).toBe(7.43 * 3600);
    expect(t.upSeconds! + t.downSeconds!).toBe(743 * 3600);
    expect(t.unknownSeconds).toBe(0);
    expect(t.downCount).toBe(1);
    expect(t.percent).toBe(99);
    expect(march.status).toBe('Compliant');
  });

  it('a weekly agreement across the new year and a quarterly one keep their own records', () => {
    const defs = {
      serviceTargets: [request('A')],
      agreements: [agreement({ reviewPeriods: ['weekly', 'quarterly'], timezone: 'UTC' })],
    };
    const lines = byTime([...ticket('t1', 'A', '2026-12-31T10:00:00Z', '2026-12-31T10:05:00Z'), ...ticket('t2', 'A', '2027-01-02T10:00:00Z', '2027-01-02T12:00:00Z')]);
    const records = endRecords(defs, lines);
    const week = records.find((r) => r.reviewPeriod === 'weekly')!;
    expect(week.periodStart).toBe('2026-12-28T00:00:00Z');
    expect([week.targets[0]!.met, week.targets[0]!.missed]).toEqual([1, 1]);
    const quarters = records.filter((r) => r.reviewPeriod === 'quarterly');
    expect(quarters.map((q) => [q.periodStart, q.percent])).toEqual([
      ['2026-10-01T00:00:00Z', 100],
      ['2027-01-01T00:00:00Z', 0],
    ]);
  });
});

describe('contracts and tenants', () => {
  const defs = {
    tenantField: 'company',
    serviceTargets: [request('A')],
    contracts: [
      { id: 'acme', tenant: 'acme' },
      { id: 'globex', tenant: 'globex' },
    ],
    agreements: [agreement({ id: 'all' }), agreement({ id: 'acme-gold', contract: 'acme' }), agreement({ id: 'globex-gold', contract: 'globex' })],
  };
  const lines = byTime([
    ...ticket('a1', 'A', '2026-03-10T10:00:00Z', '2026-03-10T10:30:00Z', { company: 'acme' }),
    ...ticket('a2', 'A', '2026-03-11T10:00:00Z', '2026-03-11T10:30:00Z', { company: 'acme' }),
    ...ticket('g1', 'A', '2026-03-12T10:00:00Z', '2026-03-12T12:30:00Z', { company: 'globex' }),
  ]);

  it('an agreement without a contract sees every tenant; with one, only its tenant', () => {
    const records = endRecords(defs, lines);
    const start = '2026-03-01T00:00:00+01:00';
    expect(one(records, start, 'all').targets[0]).toMatchObject({ met: 2, missed: 1 });
    expect(one(records, start, 'acme-gold', 'acme').targets[0]).toMatchObject({ met: 2, missed: 0 });
    expect(one(records, start, 'globex-gold', 'globex').targets[0]).toMatchObject({ met: 0, missed: 1 });
  });

  it('a ticket counts for the tenant it carried at its result instant, not a later one', () => {
    const moved = [...lines, { at: '2026-03-13T10:00:00Z', ticket: { id: 'a1', cat: 'A', state: 'Resolved', company: 'globex' } }];
    const records = endRecords(defs, moved);
    expect(one(records, '2026-03-01T00:00:00+01:00', 'acme-gold', 'acme').targets[0]).toMatchObject({ met: 2, missed: 0 });
  });

  it('a CI segment counts for the tenant the CI carried during it; its other time is unknown to the contract', () => {
    const d = {
      tenantField: 'company',
      serviceTargets: [availability()],
      contracts: [{ id: 'acme', tenant: 'acme' }],
      agreements: [agreement({ contract: 'acme', timezone: 'UTC', reviewPeriods: ['daily'], targets: [{ serviceTarget: 'web', weight: 1 }] })],
    };
    const records = endRecords(d, [
      { at: '2026-03-10T00:00:00Z', ci: { id: 'w1', class: 'web', status: 'up', company: 'acme' } },
      { at: '2026-03-10T06:00:00Z', ci: { id: 'w1', class: 'web', status: 'down', company: 'acme' } },
      { at: '2026-03-10T12:00:00Z', ci: { id: 'w1', class: 'web', status: 'up', company: 'globex' } },
      { at: '2026-03-11T00:00:00Z', check: 'next day' },
    ]);
    const day = one(records, '2026-03-10T00:00:00Z', 'gold', 'acme');
    expect(day.targets[0]).toMatchObject({ upSeconds: 6 * 3600, downSeconds: 6 * 3600, unknownSeconds: 12 * 3600 });
    expect(day.percent).toBe(50);
  });
});

describe('amendments and settlement', () => {
  const defs = {
    serviceTargets: [request('A')],
    agreements: [agreement({ penalties: [{ below: 95, amount: 1000 }], rewards: [{ atLeast: 100, amount: 50 }] })],
  };

  it('a reopen moving a result out of a closed period amends it; the closed figure stays', () => {
    const lines = byTime([
      ...ticket('t0', 'A', '2026-03-29T10:00:00Z', '2026-03-29T12:00:00Z'),
      ...ticket('t1', 'A', '2026-03-30T10:00:00Z', '2026-03-30T10:30:00Z'),
      { at: '2026-04-01T12:00:00Z', check: 'closed' },
      { at: '2026-04-03T10:00:00Z', ticket: { id: 't1', cat: 'A', state: 'New' } },
      { at: '2026-04-03T12:00:00Z', ticket: { id: 't1', cat: 'A', state: 'Resolved' } },
      { at: '2026-04-04T00:00:00Z', check: 'after reopen' },
    ]);
    const { lines: out, effects } = run(defs, lines);
    const before = one(out[0]!.compliance, '2026-03-01T00:00:00+01:00');
    expect(before).toMatchObject({ closed: true, percent: 50, penalty: 1000, reward: null, amendedPercent: null, amendedAt: null });
    const after = one(out[1]!.compliance, '2026-03-01T00:00:00+01:00');
    // t1's result moved to April (its reopened clock passed the goal there): March keeps only t0's miss.
    expect(after).toMatchObject({ closed: true, percent: 50, penalty: 1000, amendedPercent: 0, amendedPenalty: 1000, amendedAt: '2026-04-03T10:00:00.000Z' });
    expect(after.targets[0]).toMatchObject({ met: 1, missed: 1 });
    expect(one(out[1]!.compliance, '2026-04-01T00:00:00+02:00').targets[0]).toMatchObject({ met: 0, missed: 1 });
    // The penalty it would give is the same: nothing more to settle.
    const s = effects.filter((e): e is SettlementEffect => e.kind === 'settlement');
    expect(s.map((e) => [e.periodStart, e.revision, e.penalty, e.penaltyDelta])).toEqual([['2026-03-01T00:00:00+01:00', 1, 1000, 1000]]);
  });

  it('a late result reaching a closed period sets amendedPercent and settles the difference once', () => {
    const d = { ...defs, serviceTargets: [request('A', '1h', { startTime: { fromField: 'openedAt' } })] };
    const lines = [
      ...ticket('t1', 'A', '2026-03-30T10:00:00Z', '2026-03-30T10:30:00Z', { openedAt: '2026-03-30T10:00:00Z' }),
      { at: '2026-04-02T00:00:00Z', check: 'closed' },
      // A ticket reported late: opened and resolved in March, over its goal.
      { at: '2026-04-02T10:00:00Z', ticket: { id: 't2', cat: 'A', state: 'Resolved', openedAt: '2026-03-30T08:00:00Z' } },
      { at: '2026-04-03T00:00:00Z', check: 'amended' },
    ];
    const { lines: out, effects } = run(d, lines);
    const amended = one(out[1]!.compliance, '2026-03-01T00:00:00+01:00');
    expect(amended).toMatchObject({ percent: 100, reward: 50, penalty: null, amendedPercent: 50, amendedPenalty: 1000, amendedReward: null });
    const s = effects.filter((e): e is SettlementEffect => e.kind === 'settlement' && e.periodStart.startsWith('2026-03'));
    expect(s.map((e) => [e.revision, e.penaltyDelta, e.rewardDelta])).toEqual([
      [1, 0, 50],
      [2, 1000, -50],
    ]);
  });
});

describe('penalties and rewards at exact range boundaries', () => {
  const defs = (penalties: unknown[], rewards: unknown[] = []) => ({
    serviceTargets: [request('A')],
    agreements: [agreement({ compliance: { target: 95 }, penalties, rewards })],
  });
  // 19 of 20 met: exactly 95 %.
  const lines = byTime(
    Array.from({ length: 20 }, (_, i) =>
      ticket(`t${i}`, 'A', new Date(Date.UTC(2026, 2, 2) + i * 3 * H).toISOString(), new Date(Date.UTC(2026, 2, 2) + (i * 3 + (i < 19 ? 0.5 : 2)) * H).toISOString()),
    ).flat(),
  ).concat([{ at: '2026-04-02T00:00:00Z', check: 'april' }]);

  it.each([
    [[{ below: 95, amount: 1000 }], null, 'below is exclusive'],
    [[{ below: 95.000001, atLeast: 95, amount: 7 }], 7, 'atLeast is inclusive'],
    [
      [
        { atLeast: 90, below: 95, amount: 1 },
        { atLeast: 95, amount: 2 },
      ],
      2,
      'the range that holds it, in list order',
    ],
  ] as [unknown[], number | null, string][])('%j → %p (%s)', (penalties, expected) => {
    const r = one(endRecords(defs(penalties), lines), '2026-03-01T00:00:00+01:00');
    expect(r.percent).toBe(95);
    expect(r.status).toBe('Compliant');
    expect(r.penalty).toBe(expected);
  });

  it('both read null until the record closes', () => {
    const open = one(endRecords(defs([{ atLeast: 90, amount: 1 }], [{ atLeast: 90, amount: 3 }]), lines.slice(0, -1)), '2026-03-01T00:00:00+01:00');
    expect(open.closed).toBe(false);
    expect([open.penalty, open.reward]).toEqual([null, null]);
  });
});

describe('status, milestones and the forecast', () => {
  const defs = {
    serviceTargets: [availability('web', { calendar: undefined })],
    agreements: [
      agreement({
        timezone: 'UTC',
        targets: [{ serviceTarget: 'web', weight: 1 }],
        compliance: { target: 99, atRisk: 99.5 },
        milestones: [
          { name: 'risk', at: 'atRisk', actions: [{ notify: { webhook: 'http://127.0.0.1:1/risk' } }] },
          { name: 'breach', at: 'breached', actions: [{ notify: { webhook: 'http://127.0.0.1:1/breach' } }] },
        ],
      }),
    ],
  };
  // April 2026 (UTC): 720 h. At risk below 99.5 % = 3.6 h down; breached below 99 % = 7.2 h down.
  const lines = [
    { at: '2026-04-01T00:00:00Z', ci: { id: 'w1', class: 'web', status: 'up' } },
    { at: '2026-04-10T00:00:00Z', ci: { id: 'w1', class: 'web', status: 'down' } },
    { at: '2026-04-10T01:00:00Z', check: 'an hour down' },
    { at: '2026-04-11T00:00:00Z', check: 'a day down' },
  ];

  it('while a CI stays down the forecast names the instants of At Risk and Breached, and milestones fire at those instants', () => {
    const { lines: out, effects } = run(defs, lines);
    const hour = out[0]!.compliance[0]!;
    expect(hour.status).toBe('Compliant');
    expect(hour.forecast).toMatchObject({ atRiskAt: '2026-04-10T03:36:00.001Z', breachedAt: '2026-04-10T07:12:00.001Z', status: 'Breached' });
    const day = out[1]!.compliance[0]!;
    expect(day.status).toBe('Breached');
    expect(day.milestones).toEqual([
      { name: 'risk', firedAt: '2026-04-10T03:36:00.001Z' },
      { name: 'breach', firedAt: '2026-04-10T07:12:00.001Z' },
    ]);
    const fired = effects.filter((e) => e.kind === 'milestone');
    expect(fired.map((e) => [e.kind === 'milestone' && e.milestone, new Date((e as { firedAt: number }).firedAt).toISOString()])).toEqual([
      ['risk', '2026-04-10T03:36:00.001Z'],
      ['breach', '2026-04-10T07:12:00.001Z'],
    ]);
  });

  it('a milestone fires once per record even when the record goes back and forth', () => {
    const more = [
      ...lines.slice(0, 2),
      { at: '2026-04-10T05:00:00Z', ci: { id: 'w1', class: 'web', status: 'up' } },
      { at: '2026-04-10T06:00:00Z', ci: { id: 'w1', class: 'web', status: 'down' } },
      { at: '2026-04-10T06:30:00Z', ci: { id: 'w1', class: 'web', status: 'up' } },
      { at: '2026-04-12T00:00:00Z', check: 'later' },
    ];
    const { effects } = run(defs, more);
    expect(effects.filter((e) => e.kind === 'milestone' && e.milestone === 'risk')).toHaveLength(1);
  });

  it('maxDownTime gives 100 within the limit and 0 beyond it', () => {
    const d = {
      serviceTargets: [availability('web', { goal: { maxDownTime: '2h' } })],
      agreements: [agreement({ timezone: 'UTC', targets: [{ serviceTarget: 'web', weight: 1 }] })],
    };
    const at = (h: number) => new Date(Date.UTC(2026, 3, 10) + h * H).toISOString();
    const base = [
      { at: at(-1), ci: { id: 'w1', class: 'web', status: 'up' } },
      { at: at(0), ci: { id: 'w1', class: 'web', status: 'down' } },
    ];
    expect(endRecords(d, [...base, { at: at(2), ci: { id: 'w1', class: 'web', status: 'up' } }])[0]!.percent).toBe(100);
    expect(endRecords(d, [...base, { at: at(2.01), ci: { id: 'w1', class: 'web', status: 'up' } }])[0]!.percent).toBe(0);
  });
});

describe('validation (one line naming the field; nothing applied)', () => {
  const base = { serviceTargets: [request('A')], agreements: [agreement()] };
  it.each([
    [{ agreements: [agreement({ targets: [{ serviceTarget: 'nope', weight: 1 }] })] }, /agreements\[0\]\.targets\[0\]\.serviceTarget: unknown service target "nope"/],
    [{ agreements: [agreement({ targets: [{ serviceTarget: 'A', weight: 0 }] })] }, /agreements\[0\]\.targets\[0\]\.weight/],
    [{ agreements: [agreement({ compliance: { target: 95, atRisk: 90 } })] }, /agreements\[0\]\.compliance\.atRisk: 90 is below the target 95/],
    [
      {
        agreements: [
          agreement({
            penalties: [
              { below: 95, atLeast: 90, amount: 1 },
              { below: 92, amount: 2 },
            ],
          }),
        ],
      },
      /agreements\[0\]\.penalties\[1\]: overlaps penalties\[0\]/,
    ],
    [{ agreements: [agreement({ contract: 'ghost' })] }, /agreements\[0\]\.contract: unknown contract "ghost"/],
    [{ agreements: [agreement({ reviewPeriods: ['yearly'] })] }, /agreements\[0\]\.reviewPeriods\[0\]/],
  ])('%#', (patch, message) => {
    expect(() => parseDefinitions({ ...base, ...patch })).toThrow(message);
  });
});

// ── properties ─────────────────────────────────────────────────────────────────────────────────

const propDefs = parseDefinitions({
  tenantField: 'company',
  serviceTargets: [request('A'), request('B'), availability('web')],
  contracts: [{ id: 'acme', tenant: 'acme' }],
  agreements: [
    agreement({
      id: 'all',
      reviewPeriods: ['daily', 'weekly'],
      timezone: 'Europe/Berlin',
      targets: [
        { serviceTarget: 'A', weight: 3 },
        { serviceTarget: 'B', weight: 1 },
        { serviceTarget: 'web', weight: 2 },
      ],
    }),
    agreement({
      id: 'acme',
      contract: 'acme',
      reviewPeriods: ['daily'],
      timezone: 'UTC',
      targets: [
        { serviceTarget: 'A', weight: 1 },
        { serviceTarget: 'web', weight: 1 },
      ],
    }),
  ],
});
const T0 = Date.UTC(2026, 2, 27);
const env = complianceEnv(
  propDefs,
  () => TWENTY_FOUR_SEVEN,
  () => T0,
);

const requestFactArb = fc.record({
  n: fc.integer({ min: 0, max: 15 }),
  target: fc.constantFrom('A', 'B'),
  tenant: fc.constantFrom('acme', 'globex', null),
  result: fc.constantFrom('met', 'missed', 'open', null),
  at: fc.integer({ min: 0, max: 6 * 24 * 60 }),
  cost: fc.integer({ min: 0, max: 100 }),
});
const segmentRunArb = fc.record({
  ci: fc.integer({ min: 0, max: 3 }),
  sides: fc.array(fc.tuple(fc.constantFrom('up', 'down', 'unknown'), fc.integer({ min: 1, max: 36 * 60 }), fc.constantFrom('acme', 'globex')), { minLength: 1, maxLength: 8 }),
});

/** Random request fact updates and CI segment lists, applied in steps: after each, incremental ≡ full recompute. */
describe('properties', () => {
  it('incremental ≡ full recompute on random histories (records read at random instants)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(requestFactArb, segmentRunArb), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 7 * 24 * 60 }), (steps, readAt) => {
        const book = new ComplianceBook(env);
        const requests = new Map<string, RequestFact>();
        const segs = new Map<number, { side: 'up' | 'down' | 'unknown'; start: number; end: number | null; tenant: string }[]>();
        const facts = (): Fact[] => [
          ...requests.values(),
          ...[...segs.entries()].map(([ci, list]) => ({
            kind: 'ci' as const,
            key: `w${ci}|web`,
            serviceTargetId: 'web',
            calendarId: null,
            segments: list.map((s, seq) => ({ seq, side: s.side, start: s.start, end: s.end, businessMs: s.end === null ? null : s.end - s.start, tenant: s.tenant })),
          })),
        ];
        let now = T0;
        for (const s of steps) {
          if ('n' in s) {
            const f: RequestFact = {
              kind: 'request',
              key: `t${s.n}|${s.target}`,
              serviceTargetId: s.target,
              tenant: s.tenant,
              result: s.result,
              at: s.result === null ? null : T0 + s.at * 60_000,
              impactCost: s.result === 'missed' ? s.cost : 0,
            };
            requests.set(f.key, f);
            book.apply(f);
          } else {
            const list = segs.get(s.ci) ?? [];
            let t = list.length ? list[list.length - 1]!.start : T0 + s.ci * 3 * H;
            if (list.length) list[list.length - 1]!.end = null;
            // Close the open one and add the new ones; the last stays open.
            for (const [side, minutes, tenant] of s.sides) {
              const prev = list[list.length - 1];
              if (prev && prev.end === null) {
                t = Math.max(t, prev.start) + minutes * 60_000;
                prev.end = t;
              }
              list.push({ side: side, start: prev ? t : t, end: null, tenant });
            }
            segs.set(s.ci, list);
            now = Math.max(now, t);
            const fact = facts().find((f) => f.kind === 'ci' && f.key === `w${s.ci}|web`)!;
            book.apply(fact);
          }
        }
        const at = Math.max(now, T0 + readAt * 60_000);
        const full = recomputeBook(env, facts()).views(at);
        const live = book.views(at);
        const key = (r: ComplianceRecordView) => `${r.agreementId}|${r.reviewPeriod}|${r.periodStart}`;
        const byKey = new Map(live.map((r) => [key(r), r]));
        for (const r of full) expect(byKey.get(key(r))).toEqual(r);
        // A record stays once it existed (a fact that moved away leaves it with nothing counted).
        const fullKeys = new Set(full.map(key));
        for (const r of live.filter((x) => !fullKeys.has(key(x)))) {
          expect(r.percent).toBeNull();
          expect(r.targets.every((t) => !t.met && !t.missed && !t.upSeconds && !t.downSeconds)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the agreement percent always lies between its targets’ minimum and maximum', () => {
    fc.assert(
      fc.property(fc.array(requestFactArb, { minLength: 1, maxLength: 30 }), (steps) => {
        const book = new ComplianceBook(env);
        for (const s of steps)
          book.apply({
            kind: 'request',
            key: `t${s.n}|${s.target}`,
            serviceTargetId: s.target,
            tenant: s.tenant,
            result: s.result,
            at: s.result === null ? null : T0 + s.at * 60_000,
            impactCost: 0,
          });
        for (const r of book.views(T0 + 7 * 24 * H)) {
          const ps = r.targets.map((t) => t.percent).filter((p): p is number => p !== null);
          if (r.percent === null) expect(ps).toEqual([]);
          else {
            expect(r.percent).toBeGreaterThanOrEqual(Math.min(...ps) - 1e-6);
            expect(r.percent).toBeLessThanOrEqual(Math.max(...ps) + 1e-6);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the seed incremental scenarios across a sampling instant (p. 42)', () => {
  const d = parseDefinitions({
    serviceTargets: [availability('web')],
    agreements: [agreement({ timezone: 'UTC', reviewPeriods: ['daily'], targets: [{ serviceTarget: 'web', weight: 1 }] })],
  });
  const e = complianceEnv(
    d,
    () => TWENTY_FOUR_SEVEN,
    () => Date.UTC(2026, 0, 1),
  );
  const day = Date.UTC(2026, 5, 1);
  const m = (x: number) => day + x * 60_000;
  const fact = (segments: [string, number, number | null][]): Fact => ({
    kind: 'ci',
    key: 'w1|web',
    serviceTargetId: 'web',
    calendarId: null,
    segments: segments.map(([side, start, end], seq) => ({
      seq,
      side: side as 'up',
      start: m(start),
      end: end === null ? null : m(end),
      businessMs: end === null ? null : (end - start) * 60_000,
      tenant: null,
    })),
  });
  const read = (book: ComplianceBook, at: number) => book.views(m(at))[0]!.targets[0]!;

  it.each([
    [
      '1: started before the sample, completed after it',
      [
        ['up', 0, 10],
        ['down', 10, 30],
        ['up', 30, null],
      ],
      20,
      40,
    ],
    [
      '2: started and completed between samples',
      [
        ['up', 0, 25],
        ['down', 25, 27],
        ['up', 27, null],
      ],
      20,
      40,
    ],
    [
      '3: started after the sample, still open',
      [
        ['up', 0, 25],
        ['down', 25, null],
      ],
      20,
      40,
    ],
    [
      '4: started before the sample, still open',
      [
        ['up', 0, 10],
        ['down', 10, null],
      ],
      20,
      40,
    ],
  ] as [string, [string, number, number | null][], number, number][])(
    'scenario %s: the record sampled at both instants equals a full recompute',
    (_name, segments, sample, later) => {
      const book = new ComplianceBook(e);
      // What was known at the sample: every segment begun by then, the one running open.
      const known = segments.filter(([, s]) => s <= sample).map(([side, s, end], i, all): [string, number, number | null] => [side, s, i === all.length - 1 ? null : end]);
      book.apply(fact(known));
      expect(read(book, sample)).toEqual(recomputeBook(e, [fact(known)]).views(m(sample))[0]!.targets[0]);
      book.apply(fact(segments));
      const full = recomputeBook(e, [fact(segments)]).views(m(later))[0]!.targets[0]!;
      expect(read(book, later)).toEqual(full);
      const down = segments.filter(([side]) => side === 'down').reduce((acc, [, s, end]) => acc + ((end ?? later) - s), 0);
      expect(full.downSeconds).toBe(down * 60);
    },
  );
});

describe('effects are plain data', () => {
  it('a settlement key is agreement × contract × period × revision', () => {
    const { effects } = run({ serviceTargets: [request('A')], agreements: [agreement({ penalties: [{ below: 100, amount: 5 }] })] }, [
      ...ticket('t', 'A', '2026-03-02T10:00:00Z', '2026-03-02T12:00:00Z'),
      { at: '2026-04-02T00:00:00Z', check: 'x' },
    ]);
    const s = effects.find((x): x is SettlementEffect => x.kind === 'settlement')!;
    expect(s.key).toBe(`gold||monthly|${Date.parse('2026-02-28T23:00:00Z')}|1`);
    expect(s.penalty).toBe(5);
    expect(effects.every((x) => JSON.parse(JSON.stringify(x)))).toBe(true);
  });
});
