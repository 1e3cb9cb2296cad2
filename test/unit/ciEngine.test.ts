/**
 * The CI engine (DESIGN §4.7) through `slm replay`'s pure function: availability and performance
 * targets, business time, missing data, milestones and the properties the issue names.
 */
import fc from 'fast-check';
import { BusinessCalendar } from '../../src/domain/calendar';
import { parseCi, parseKpiSample } from '../../src/domain/ci/ci';
import { scopedEvaluation, type CiActionEffect, type CiMeasurementView } from '../../src/domain/ci/engine';
import * as conditions from '../../src/domain/conditions';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { reduceSamples, refreshMsOf } from '../../src/domain/ci/kpiForward';
import { parseEvents, printedReplayLine, replay } from '../../src/domain/replay';

const office = { id: 'office', timezone: 'Europe/Luxembourg', weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '17:30']]])) };
const allDayBerlin = {
  id: 'berlin',
  timezone: 'Europe/Berlin',
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]])),
};

const web = (extra: Record<string, unknown> = {}) => ({ id: 'web-availability', type: 'availability', appliesTo: 'ci.class == "web"', goal: { availability: 99.5 }, ...extra });
const db = (extra: Record<string, unknown> = {}) => ({
  id: 'db-latency',
  type: 'performance',
  appliesTo: 'ci.class == "db"',
  warning: 'kpi.latency_ms > 200',
  alarm: 'kpi.latency_ms > 500',
  goal: { availability: 99 },
  ...extra,
});

type Line = Record<string, unknown>;
function run(defs: unknown, lines: Line[], effects?: CiActionEffect[]) {
  const text = lines.map((l) => JSON.stringify(l)).join('\n');
  return replay(defs, parseEvents(text), undefined, { onCiEffect: (e) => effects?.push(e) });
}
const end = (defs: unknown, lines: Line[], effects?: CiActionEffect[]) => run(defs, lines, effects).at(-1)!.ciMeasurements ?? [];
const only = (defs: unknown, lines: Line[], effects?: CiActionEffect[]): CiMeasurementView => {
  const ms = end(defs, lines, effects);
  expect(ms).toHaveLength(1);
  return ms[0]!;
};

describe('availability targets', () => {
  it("follows the seed's walkthrough: available → unavailable → unknown → available, one segment per state", () => {
    const m = only({ serviceTargets: [web()] }, [
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-02T10:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
      { at: '2026-03-02T10:20:00Z', ci: { id: 'web-1', class: 'web', status: 'unreachable' } },
      { at: '2026-03-02T10:30:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-02T11:00:00Z', check: 'later' },
    ]);
    expect(m).toMatchObject({ ciId: 'web-1', serviceTargetId: 'web-availability', status: 'InProcess', state: 'up', startedAt: '2026-03-02T09:00:00.000Z' });
    expect(m.segments).toEqual([
      { state: 'up', startAt: '2026-03-02T09:00:00.000Z', endAt: '2026-03-02T10:00:00.000Z', businessSeconds: 3600 },
      { state: 'down', startAt: '2026-03-02T10:00:00.000Z', endAt: '2026-03-02T10:20:00.000Z', businessSeconds: 1200 },
      { state: 'unknown', startAt: '2026-03-02T10:20:00.000Z', endAt: '2026-03-02T10:30:00.000Z', businessSeconds: 600 },
      { state: 'up', startAt: '2026-03-02T10:30:00.000Z', endAt: null, businessSeconds: 1800 },
    ]);
    expect([m.upSeconds, m.downSeconds, m.unknownSeconds, m.downCount]).toEqual([5400, 1200, 600, 1]);
    expect(m.availability).toBeCloseTo(81.818, 3);
    expect(m.goalMet).toBe(false);
  });

  it('counts only business time: an outage from Friday 17:30 to Monday 09:15 on an office calendar is 15 minutes, one outage', () => {
    const m = only({ calendars: [office], serviceTargets: [web({ calendar: 'office', costPerMinute: 10 })] }, [
      { at: '2026-03-06T08:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } }, // Friday 09:00 local
      { at: '2026-03-06T16:30:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // Friday 17:30 local
      { at: '2026-03-07T12:00:00Z', check: 'saturday' },
      { at: '2026-03-09T08:15:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } }, // Monday 09:15 local
    ]);
    expect(m.downSeconds).toBe(15 * 60);
    expect(m.upSeconds).toBe(8.5 * 3600);
    expect(m.downCount).toBe(1);
    expect(m.impactCost).toBe(150);
    expect(m.segments.map((s) => [s.state, s.businessSeconds])).toEqual([
      ['up', 30600],
      ['down', 900],
      ['up', 0],
    ]);
  });

  it('does not count an outage that stays outside business time', () => {
    const out = run({ calendars: [office], serviceTargets: [web({ calendar: 'office' })] }, [
      { at: '2026-03-06T08:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-07T10:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // Saturday
      { at: '2026-03-07T11:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-09T12:00:00Z', check: 'monday' },
    ]);
    const m = out.at(-1)!.ciMeasurements![0]!;
    expect([m.downSeconds, m.downCount]).toEqual([0, 0]);
  });

  it('measures a DST day in local business time: 23 hours on 29 March in Berlin, 25 on 25 October', () => {
    for (const [from, to, hours] of [
      ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z', 23],
      ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', 25],
    ] as const) {
      const m = only({ calendars: [allDayBerlin], serviceTargets: [web({ calendar: 'berlin' })] }, [
        { at: from, ci: { id: 'web-1', class: 'web', status: 'down' } },
        { at: to, ci: { id: 'web-1', class: 'web', status: 'up' } },
      ]);
      expect(m.downSeconds).toBe(hours * 3600);
    }
  });

  it('attaches a CI that is down at once: the measurement starts down and counts the outage', () => {
    const m = only({ serviceTargets: [web()] }, [
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'other', status: 'down' } },
      { at: '2026-03-02T09:10:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
      { at: '2026-03-02T09:40:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
    ]);
    expect(m.startedAt).toBe('2026-03-02T09:10:00.000Z');
    expect(m.segments.map((s) => s.state)).toEqual(['down', 'up']);
    expect([m.downSeconds, m.downCount, m.upSeconds]).toEqual([1800, 1, 0]);
  });

  it('detaches when the terms stop holding, and a later attach is a new measurement beside it', () => {
    const ms = end({ serviceTargets: [web()] }, [
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-02T10:00:00Z', ci: { id: 'web-1', class: 'retired', status: 'up' } },
      { at: '2026-03-02T11:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
      { at: '2026-03-02T11:30:00Z', check: 'x' },
    ]);
    expect(ms.map((m) => [m.status, m.stoppedAt, m.upSeconds, m.downSeconds])).toEqual([
      ['Detached', '2026-03-02T10:00:00.000Z', 3600, 0],
      ['InProcess', null, 0, 1800],
    ]);
  });

  it('flapping every minute for a day: 1,440 segments, 720 outages, the whole day accounted', () => {
    const lines: Line[] = [];
    const t0 = Date.parse('2026-03-02T00:00:00Z');
    for (let i = 0; i < 1440; i++) lines.push({ at: new Date(t0 + i * 60_000).toISOString(), ci: { id: 'web-1', class: 'web', status: i % 2 ? 'down' : 'up' } });
    lines.push({ at: new Date(t0 + 86_400_000).toISOString(), check: 'day' });
    const m = only({ serviceTargets: [web()] }, lines);
    expect(m.segments).toHaveLength(1440);
    expect(m.downCount).toBe(720);
    expect(m.upSeconds + m.downSeconds + m.unknownSeconds).toBe(86_400);
    expect(m.downSeconds).toBe(43_200);
  });

  it('makes a measurement Invalid while its condition fails to evaluate, and measuring again once it does', () => {
    const defs = { serviceTargets: [web({ down: 'ci.errors > 3' })] };
    const out = run(defs, [
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up', errors: 0 } },
      { at: '2026-03-02T09:10:00Z', ci: { id: 'web-1', class: 'web', status: 'up', errors: 'many' } },
      { at: '2026-03-02T09:20:00Z', check: 'broken' },
      { at: '2026-03-02T09:30:00Z', ci: { id: 'web-1', class: 'web', status: 'up', errors: 5 } },
      { at: '2026-03-02T09:40:00Z', check: 'fixed' },
    ]);
    const broken = out[0]!.ciMeasurements![0]!;
    expect(broken.status).toBe('Invalid');
    expect(broken.reason).toMatch(/ci\.errors > 3/);
    const fixed = out[1]!.ciMeasurements![0]!;
    expect(fixed).toMatchObject({ status: 'InProcess', state: 'down', reason: null, upSeconds: 600, unknownSeconds: 1200, downSeconds: 600 });
  });

  it('takes a goal edit mid-period: time so far kept, new goal and version from the edit on', () => {
    const out = run({ version: 'a', serviceTargets: [web({ goal: { availability: 99.5 } })] }, [
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-02T18:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
      { at: '2026-03-02T18:04:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      { at: '2026-03-02T19:00:00Z', check: 'before' },
      { at: '2026-03-02T19:00:00Z', definitions: { version: 'b', serviceTargets: [web({ goal: { availability: 99 } })] } },
      { at: '2026-03-02T20:00:00Z', check: 'after' },
    ]);
    const before = out[0]!.ciMeasurements![0]!;
    const after = out[1]!.ciMeasurements![0]!;
    expect([before.goalMet, before.definitionVersion, before.downSeconds]).toEqual([false, 'a', 240]);
    expect([after.goalMet, after.definitionVersion, after.downSeconds, after.upSeconds]).toEqual([true, 'b', 240, 9 * 3600 + 56 * 60 + 3600]);
    expect(after.goal).toEqual({ availability: 99 });
  });
});

describe('performance targets', () => {
  const sample = (at: string, name: string, value: unknown, ci = 'db-1') => ({ at, kpi: { ci, name, value } });
  const dbCi = { at: '2026-03-02T09:00:00Z', ci: { id: 'db-1', class: 'db' } };

  it('moves through ok, warning and alarm by KPI levels; time in alarm is down time', () => {
    const m = only({ serviceTargets: [db({ costPerMinute: 2 })] }, [
      dbCi,
      sample('2026-03-02T09:00:00Z', 'latency_ms', 100),
      sample('2026-03-02T09:05:00Z', 'latency_ms', 300),
      sample('2026-03-02T09:06:00Z', 'latency_ms', 800),
      sample('2026-03-02T09:08:00Z', 'latency_ms', 120),
      { at: '2026-03-02T09:09:00Z', check: 'x' },
    ]);
    expect(m.segments.map((s) => [s.state, s.businessSeconds])).toEqual([
      ['ok', 300],
      ['warning', 60],
      ['alarm', 120],
      ['ok', 60],
    ]);
    expect([m.upSeconds, m.downSeconds, m.downCount, m.impactCost]).toEqual([420, 120, 1, 4]);
  });

  it('is Attached with no data yet, then InProcess once a KPI reports', () => {
    const out = run({ serviceTargets: [db()] }, [
      dbCi,
      { at: '2026-03-02T09:01:00Z', check: 'none' },
      sample('2026-03-02T09:02:00Z', 'latency_ms', 10),
      { at: '2026-03-02T09:03:00Z', check: 'data' },
    ]);
    expect(out[0]!.ciMeasurements![0]!).toMatchObject({ status: 'Attached', state: 'unknown', unknownSeconds: 60 });
    expect(out[1]!.ciMeasurements![0]!).toMatchObject({ status: 'InProcess', state: 'ok', unknownSeconds: 120, upSeconds: 60 });
  });

  it.each([
    ['unknown', 'unknown'],
    ['ok', 'ok'],
    ['alarm', 'alarm'],
    ['lastValue', 'warning'],
  ] as const)('a KPI that stops reporting: treatAs %s puts the measurement in %s at the expiry instant', (treatAs, expected) => {
    const m = only({ serviceTargets: [db({ missingData: { after: '10m', treatAs } })] }, [
      dbCi,
      sample('2026-03-02T09:00:00Z', 'latency_ms', 300),
      { at: '2026-03-02T09:30:00Z', check: 'silent' },
    ]);
    const states = m.segments.map((s) => [s.state, s.startAt]);
    if (expected === 'warning') expect(states).toEqual([['warning', '2026-03-02T09:00:00.000Z']]);
    else
      expect(states).toEqual([
        ['warning', '2026-03-02T09:00:00.000Z'],
        [expected, '2026-03-02T09:10:00.000Z'],
      ]);
  });

  it('a fresh sample keeps the value current: no expiry while samples keep coming', () => {
    const lines: Line[] = [dbCi];
    for (let i = 0; i < 12; i++) lines.push(sample(new Date(Date.parse('2026-03-02T09:00:00Z') + i * 300_000).toISOString(), 'latency_ms', 50));
    lines.push({ at: '2026-03-02T10:00:00Z', check: 'x' });
    const m = only({ serviceTargets: [db()] }, lines);
    expect(m.segments.map((s) => s.state)).toEqual(['ok']);
    expect(m.upSeconds).toBe(3600);
  });

  it('status KPIs: OK, Warning, Alarm and Offline are states of their own (Offline is unknown)', () => {
    const m = only({ serviceTargets: [{ id: 'app-status', type: 'performance', appliesTo: 'ci.class == "db"', statusKpi: 'health', goal: { maxDownTime: '1h' } }] }, [
      dbCi,
      sample('2026-03-02T09:00:00Z', 'health', 'OK'),
      sample('2026-03-02T09:01:00Z', 'health', 'Warning'),
      sample('2026-03-02T09:02:00Z', 'health', 'alarm'),
      sample('2026-03-02T09:03:00Z', 'health', 'Offline'),
      sample('2026-03-02T09:04:00Z', 'health', 'OK'),
      { at: '2026-03-02T09:05:00Z', check: 'x' },
    ]);
    expect(m.segments.map((s) => s.state)).toEqual(['ok', 'warning', 'alarm', 'unknown', 'ok']);
    expect(m.goalMet).toBe(true);
  });

  it('AVG over three KPIs, and the worse of expressions and a status KPI', () => {
    const t = db({ warning: 'avg([kpi.cpu_a, kpi.cpu_b, kpi.cpu_c]) > 80', alarm: 'max([kpi.cpu_a, kpi.cpu_b, kpi.cpu_c]) >= 99', statusKpi: 'health' });
    const m = only({ serviceTargets: [t] }, [
      dbCi,
      sample('2026-03-02T09:00:00Z', 'health', 'OK'),
      sample('2026-03-02T09:00:00Z', 'cpu_a', 90),
      sample('2026-03-02T09:00:00Z', 'cpu_b', 60),
      sample('2026-03-02T09:00:00Z', 'cpu_c', 60), // avg 70: ok
      sample('2026-03-02T09:01:00Z', 'cpu_b', 90), // avg 80: still ok (not > 80)
      sample('2026-03-02T09:02:00Z', 'cpu_c', 63), // avg 81: warning
      sample('2026-03-02T09:03:00Z', 'cpu_a', 99), // max 99: alarm
      sample('2026-03-02T09:04:00Z', 'cpu_a', 10), // avg 54.3: ok…
      sample('2026-03-02T09:05:00Z', 'health', 'Warning'), // …but the status KPI says warning
      { at: '2026-03-02T09:06:00Z', check: 'x' },
    ]);
    expect(m.segments.map((s) => [s.state, s.startAt.slice(11, 16)])).toEqual([
      ['ok', '09:00'],
      ['warning', '09:02'],
      ['alarm', '09:03'],
      ['ok', '09:04'],
      ['warning', '09:05'],
    ]);
  });

  it('a KPI expression that divides by zero makes the measurement Invalid with the reason; a missing KPI follows treatAs instead', () => {
    const t = db({ warning: undefined, alarm: 'kpi.errors / kpi.requests > 0.05' });
    const out = run({ serviceTargets: [t] }, [
      dbCi,
      sample('2026-03-02T09:00:00Z', 'errors', 1),
      { at: '2026-03-02T09:01:00Z', check: 'one KPI' },
      sample('2026-03-02T09:02:00Z', 'requests', 0),
      { at: '2026-03-02T09:03:00Z', check: 'zero' },
      sample('2026-03-02T09:04:00Z', 'requests', 100),
      { at: '2026-03-02T09:05:00Z', check: 'fine' },
    ]);
    expect(out[0]!.ciMeasurements![0]!).toMatchObject({ status: 'Attached', state: 'unknown', reason: null });
    expect(out[1]!.ciMeasurements![0]!).toMatchObject({ status: 'Invalid', state: 'unknown' });
    expect(out[1]!.ciMeasurements![0]!.reason).toMatch(/division by zero/);
    expect(out[2]!.ciMeasurements![0]!).toMatchObject({ status: 'InProcess', state: 'ok', reason: null });
  });

  it('ignores a sample older than the value held for its KPI (samples arrive out of order)', () => {
    const m = only({ serviceTargets: [db()] }, [
      dbCi,
      { at: '2026-03-02T09:02:00Z', kpi: { ci: 'db-1', name: 'latency_ms', value: 100, at: '2026-03-02T09:02:00Z' } },
      { at: '2026-03-02T09:03:00Z', kpi: { ci: 'db-1', name: 'latency_ms', value: 900, at: '2026-03-02T09:01:00Z' } },
    ]);
    expect(m.state).toBe('ok');
  });
});

describe('CI milestones', () => {
  const withMilestones = (milestones: unknown[]) => ({ serviceTargets: [web({ milestones })] });
  const hook = [{ notify: { webhook: 'http://127.0.0.1:9/hook' } }];

  it('downFor fires once business down time reaches it, with repeats, and again in the next outage', () => {
    const effects: CiActionEffect[] = [];
    const m = only(
      withMilestones([{ name: 'down-30m', at: { downFor: '30m' }, repeat: { every: '15m', times: 1 }, actions: hook }]),
      [
        { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
        { at: '2026-03-02T10:30:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
        { at: '2026-03-02T11:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
        { at: '2026-03-02T11:40:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      ],
      effects,
    );
    expect(effects.map((e) => [e.occurrence, new Date(e.firedAt).toISOString()])).toEqual([
      [1, '2026-03-02T09:30:00.000Z'],
      [2, '2026-03-02T09:45:00.000Z'],
      [3, '2026-03-02T11:30:00.000Z'],
    ]);
    expect(effects[0]!.key).toBe('ci:web-1|web-availability|down-30m|1|0');
    expect(m.milestones[0]!.firedAt).toBe('2026-03-02T11:30:00.000Z');
  });

  it('downFor counts business time only: an outage over the weekend fires Monday morning', () => {
    const effects: CiActionEffect[] = [];
    only(
      { calendars: [office], serviceTargets: [web({ calendar: 'office', milestones: [{ name: 'd', at: { downFor: '30m' }, actions: hook }] })] },
      [
        { at: '2026-03-06T16:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // Friday 17:00 local: 30 min before closing
        { at: '2026-03-09T12:00:00Z', check: 'monday' },
      ],
      effects,
    );
    expect(effects.map((e) => new Date(e.firedAt).toISOString())).toEqual(['2026-03-06T16:30:00.000Z']);
    const later: CiActionEffect[] = [];
    only(
      { calendars: [office], serviceTargets: [web({ calendar: 'office', milestones: [{ name: 'd', at: { downFor: '45m' }, actions: hook }] })] },
      [
        { at: '2026-03-06T16:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
        { at: '2026-03-09T12:00:00Z', check: 'monday' },
      ],
      later,
    );
    expect(later.map((e) => new Date(e.firedAt).toISOString())).toEqual(['2026-03-09T08:15:00.000Z']);
  });

  it('downCount fires when the count reaches it (an outage outside business time is not counted)', () => {
    const effects: CiActionEffect[] = [];
    const lines: Line[] = [];
    const t0 = Date.parse('2026-03-02T09:00:00Z');
    for (let i = 0; i < 8; i++) lines.push({ at: new Date(t0 + i * 600_000).toISOString(), ci: { id: 'web-1', class: 'web', status: i % 2 ? 'up' : 'down' } });
    only(withMilestones([{ name: 'three', at: { downCount: 3 }, actions: hook }]), lines, effects);
    expect(effects.map((e) => new Date(e.firedAt).toISOString())).toEqual(['2026-03-02T09:40:00.001Z']);
  });

  it('availabilityBelow fires at the instant availability drops below the level, and again only after it recovered', () => {
    const effects: CiActionEffect[] = [];
    only(
      withMilestones([{ name: 'below-90', at: { availabilityBelow: 90 }, actions: hook }]),
      [
        { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
        { at: '2026-03-02T10:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // below 90 % once down > 400 s
        { at: '2026-03-02T10:10:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
        { at: '2026-03-02T10:12:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // still below: not again
        { at: '2026-03-02T10:13:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
        { at: '2026-03-02T14:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } }, // recovered meanwhile: armed again
        { at: '2026-03-02T15:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
      ],
      effects,
    );
    expect(effects.map((e) => new Date(e.firedAt).toISOString())).toEqual(['2026-03-02T10:06:40.001Z', expect.stringMatching(/^2026-03-02T14:2/)]);
  });

  it('a milestone whose if is false is skipped, and setField changes the CI at the firing instant', () => {
    const effects: CiActionEffect[] = [];
    const defs = withMilestones([
      { name: 'mark', at: { downFor: '5m' }, actions: [{ setField: { status: 'maintenance' } }] },
      { name: 'never', at: { downFor: '1m' }, if: 'ci.owner == "ops"', actions: hook },
    ]);
    const m = only(
      defs,
      [
        { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'down' } },
        { at: '2026-03-02T09:30:00Z', check: 'x' },
      ],
      effects,
    );
    expect(effects).toEqual([]);
    expect(m.segments.map((s) => [s.state, s.startAt.slice(11, 16)])).toEqual([
      ['down', '09:00'],
      ['unknown', '09:05'],
    ]);
  });
});

describe('definitions, samples and replay lines', () => {
  it('validates CI targets with one line naming the field', () => {
    expect(() => parseDefinitions({ serviceTargets: [web({ goal: { availability: 120 } })] })).toThrow(/serviceTargets\[0\]\.goal\.availability/);
    expect(() => parseDefinitions({ serviceTargets: [db({ alarm: 'kpi.latency_ms >' })] })).toThrow(/serviceTargets\[0\]\.alarm: invalid CEL/);
    expect(() => parseDefinitions({ serviceTargets: [db({ warning: undefined, alarm: undefined })] })).toThrow(/needs warning, alarm or statusKpi/);
    expect(() => parseDefinitions({ serviceTargets: [web({ milestones: [{ name: 'x', at: { downCount: 2 }, repeat: { every: '5m' } }] })] })).toThrow(/repeat applies to downFor/);
    expect(() => parseDefinitions({ serviceTargets: [web({ calendar: 'nope' })] })).toThrow(/unknown calendar "nope"/);
    expect(() => parseDefinitions({ serviceTargets: [{ id: 'x', type: 'capacity', appliesTo: 'true' }] })).toThrow(/expected one of request, availability, performance/);
    expect(() => parseDefinitions({ serviceTargets: [db({ missingData: { treatAs: 'zero' } })] })).toThrow(/missingData\.treatAs/);
  });

  it('refuses malformed CIs and samples with a clear error, and bounds sample instants', () => {
    const now = Date.parse('2026-03-02T09:00:00Z');
    expect(() => parseCi({ class: 'web' })).toThrow('invalid CI: id: required');
    expect(() => parseKpiSample({ ci: 'db-1', name: 'latency_ms', value: 'fast' }, now, 'samples[3]')).toThrow(/invalid samples\[3\]: value: expected a number or a status/);
    expect(parseKpiSample({ ci: 'db-1', name: 'latency_ms', value: '512.5' }, now).value).toBe(512.5);
    expect(() => parseKpiSample({ ci: 'db-1', name: 'latency ms', value: 1 }, now)).toThrow(/name: must be a KPI name/);
    expect(() => parseKpiSample({ ci: 'db-1', name: 'x', value: 1, at: '2030-01-01T00:00:00Z' }, now)).toThrow(/more than 5 minutes in the future/);
    expect(() => parseKpiSample({ ci: 'db-1', name: 'x', value: 1, at: '2020-01-01T00:00:00Z' }, now)).toThrow(/more than 24 hours in the past/);
    expect(() => parseEvents('{"at":"2026-03-02T09:00:00Z","kpi":{"ci":"db-1","name":"x","value":null}}\n')).not.toThrow();
    expect(() => replay({}, parseEvents('{"at":"2026-03-02T09:00:00Z","kpi":{"ci":"db-1","name":"x","value":null}}\n'))).toThrow(/line 1: invalid kpi: value/);
  });

  it('prints CI measurements beside ticket ones, with ciId in place of ticketId', () => {
    const defs = { serviceTargets: [web(), { id: 'P1', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Closed"', goal: { duration: '4h' } }] };
    const out = run(defs, [
      { at: '2026-03-02T09:00:00Z', ticket: { id: 'T1', priority: 1, state: 'New' } },
      { at: '2026-03-02T09:00:00Z', ci: { id: 'web-1', class: 'web', status: 'up' } },
    ]);
    const printed = JSON.parse(printedReplayLine(out.at(-1)!)) as { measurements: Record<string, unknown>[] };
    expect(printed.measurements.map((m) => m.ticketId ?? m.ciId)).toEqual(['T1', 'web-1']);
    expect(Object.keys(printed.measurements[1]!)).toEqual(
      expect.arrayContaining(['ciId', 'serviceTargetId', 'status', 'state', 'startedAt', 'upSeconds', 'downSeconds', 'unknownSeconds', 'downCount', 'segments', 'milestones']),
    );
  });
});

describe('properties', () => {
  const states = ['up', 'down', 'unknown', 'flaky'] as const;
  const history = fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 6 * 3600_000 }), status: fc.constantFrom(...states), cls: fc.constantFrom('web', 'web', 'web', 'db') }), {
    minLength: 1,
    maxLength: 40,
  });

  it('up + down + unknown is the business time of the measured span, and a replay of the same history twice is identical', () => {
    const cal = BusinessCalendar.fromSpec(office);
    fc.assert(
      fc.property(history, (steps) => {
        let t = Date.parse('2026-03-06T07:00:00Z');
        const lines: Line[] = steps.map((s) => {
          t += s.gapMs;
          return { at: new Date(t).toISOString(), ci: { id: 'web-1', class: s.cls, status: s.status } };
        });
        lines.push({ at: new Date(t + 3600_000).toISOString(), check: 'end' });
        const defs = { calendars: [office], serviceTargets: [web({ calendar: 'office' })] };
        const a = run(defs, lines);
        expect(run(defs, lines)).toEqual(a);
        for (const m of a.at(-1)!.ciMeasurements ?? []) {
          const to = m.stoppedAt ? Date.parse(m.stoppedAt) : t + 3600_000;
          const total = m.upSeconds + m.downSeconds + m.unknownSeconds;
          expect(total).toBeCloseTo(cal.diffMs(Date.parse(m.startedAt), to) / 1000, 3);
          expect(m.segments.reduce((s, x) => s + x.businessSeconds, 0)).toBeCloseTo(total, 3);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe("KPI expressions: the direct path gives the interpreter's answer", () => {
  const expressions = [
    'kpi.latency_ms > 200',
    'kpi.latency_ms >= 200.5',
    '500 < kpi.latency_ms',
    'kpi.status == "ALARM"',
    'kpi.status != "OK"',
    'avg([kpi.a, kpi.b, kpi.c]) > 70',
    'max([kpi.a, kpi.b]) >= 99',
    'min([kpi.a, kpi.b]) < 1',
    'sum([kpi.a, kpi.b, kpi.c]) == 150',
    'avg([kpi.a, kpi.b]) > 70 && kpi.status == "OK"',
    'kpi.latency_ms > 500 || (has(kpi.status) && kpi.status == "ALARM")',
    'kpi.a / kpi.b > 0.5',
  ];
  const value = fc.oneof(
    fc.constant(undefined),
    fc.double({ min: -1000, max: 1000, noNaN: true }),
    fc.integer({ min: 0, max: 200 }),
    fc.constantFrom('OK', 'ALARM', 'WARNING', 'x'),
  );
  it('over random KPI maps with missing, numeric and status values', () => {
    const { compileKpiExpression } = conditions;
    fc.assert(
      fc.property(fc.record({ latency_ms: value, status: value, a: value, b: value, c: value }), (raw) => {
        const kpi = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Record<string, number | string>;
        for (const e of expressions) expect(compileKpiExpression(e).evaluate(kpi)).toEqual(compileKpiExpression(e, { direct: false }).evaluate(kpi));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('evaluation by scope', () => {
  it('skipping what a change cannot affect gives the result of evaluating everything', () => {
    const defs = {
      calendars: [office],
      serviceTargets: [
        web({
          calendar: 'office',
          milestones: [
            { name: 'd', at: { downFor: '20m' }, actions: [{ setField: { flagged: true } }] },
            { name: 'c', at: { downCount: 2 } },
          ],
        }),
        db({
          appliesTo: 'ci.class == "db" || ci.class == "web"',
          missingData: { after: '15m', treatAs: 'unknown' },
          warning: 'avg([kpi.a, kpi.b]) > 50',
          alarm: 'kpi.a / kpi.b > 3',
          statusKpi: 'health',
        }),
        { id: 'terms-error', type: 'availability', appliesTo: 'ci.tier > 2', goal: { maxDownCount: 1 } },
      ],
    };
    const step = fc.oneof(
      fc.record({
        gap: fc.integer({ min: 0, max: 3600_000 }),
        ci: fc.record({ class: fc.constantFrom('web', 'db', 'other'), status: fc.constantFrom('up', 'down', 'x'), tier: fc.constantFrom(1, 3, 'gold') }),
      }),
      fc.record({
        gap: fc.integer({ min: 0, max: 1800_000 }),
        kpi: fc.record({ name: fc.constantFrom('a', 'b', 'health'), value: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom('OK', 'Alarm', 'Offline')) }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        let t = Date.parse('2026-03-06T07:00:00Z');
        const lines: Line[] = steps.map((s) => {
          t += s.gap;
          const at = new Date(t).toISOString();
          return 'ci' in s ? { at, ci: { id: 'x-1', ...s.ci } } : { at, kpi: { ci: 'x-1', ...s.kpi } };
        });
        lines.push({ at: new Date(t + 7200_000).toISOString(), check: 'end' });
        let a: ReturnType<typeof run>;
        try {
          a = run(defs, lines);
        } catch (err) {
          return expect(() => run(defs, lines)).toThrow((err as Error).message);
        }
        scopedEvaluation(false);
        try {
          expect(run(defs, lines)).toEqual(a);
        } finally {
          scopedEvaluation(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('the KPI ingest reduction', () => {
  it("forwards a KPI's first value, state changes and refreshes of a copy going stale; one forward per instant; ignores older samples", () => {
    const targets = compileDefinitions(parseDefinitions({ serviceTargets: [db({ missingData: { after: '10m' } })] }), '1').ciTargets;
    const refresh = refreshMsOf(targets);
    expect(refresh).toBe(300_000);
    const ledger = { readings: {}, sent: {} };
    const t0 = Date.parse('2026-03-02T09:00:00Z');
    const s = (sec: number, name: string, value: number) => ({ name, value, at: t0 + sec * 1000 });
    // The first values of two KPIs at one instant: one forward carrying both.
    let out = reduceSamples('db-1', ledger, [s(0, 'latency_ms', 100), s(0, 'cpu', 5)], targets, refresh);
    expect(out).toEqual([{ at: t0, readings: { latency_ms: { value: 100, at: t0 }, cpu: { value: 5, at: t0 } } }]);
    // Samples that keep the state (ok) are held back; a warning goes out with what changed since.
    out = reduceSamples('db-1', ledger, [s(1, 'latency_ms', 120), s(2, 'cpu', 7), s(3, 'latency_ms', 300)], targets, refresh);
    expect(out).toEqual([{ at: t0 + 3000, readings: { latency_ms: { value: 300, at: t0 + 3000 }, cpu: { value: 7, at: t0 + 2000 } } }]);
    // An older sample is ignored; a steady value is refreshed once the copy is half its staleness limit old.
    expect(reduceSamples('db-1', ledger, [s(2, 'latency_ms', 900)], targets, refresh)).toEqual([]);
    expect(reduceSamples('db-1', ledger, [s(200, 'latency_ms', 310)], targets, refresh)).toEqual([]);
    out = reduceSamples('db-1', ledger, [s(304, 'latency_ms', 305)], targets, refresh);
    expect(out.map((f) => Object.keys(f.readings))).toEqual([['latency_ms']]);
  });
});
