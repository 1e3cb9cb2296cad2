/**
 * `npm run bench -- calendar [--ops 1000000] [--peer-ops 5000] [--rounds 3]`
 *
 * Mixed `add`/`diff` operations on a realistic calendar (two intervals a day, 15 holidays a year, a
 * weekly blackout, Europe/Berlin) with durations from minutes to 30 business days. The same inputs go
 * through moment-business-time and dayjs-business-time, which compute in the process's local zone
 * (set to Europe/Berlin here) and know no blackouts, so they do strictly less work. The peers are far
 * too slow for a million operations, so they run the first `--peer-ops` inputs and ours runs those
 * too for the ratio. Then: the cost of one `add` from a 1-hour to a 1-year goal.
 */
process.env.TZ = 'Europe/Berlin';

import { parseArgs } from 'node:util';
import dayjs from 'dayjs';
import dayjsBusinessTime from 'dayjs-business-time';
import moment from 'moment-business-time';
import { BusinessCalendar, compileWindow, parseCalendar, type CalendarSpec } from '../../src/domain/calendar';

const say = (msg: string) => process.stdout.write(msg + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1));

/** A small deterministic PRNG, so every run and every library sees the same inputs. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const YEARS = [2026, 2027, 2028];
/** 15 holidays a year: fixed dates plus a few that move (taken as fixed here; the count is what matters). */
const HOLIDAY_DAYS = ['01-01', '01-06', '03-08', '04-03', '04-06', '05-01', '05-14', '05-25', '06-04', '08-15', '10-03', '10-31', '11-01', '12-25', '12-26'];
const holidays = YEARS.flatMap((y) => HOLIDAY_DAYS.map((d) => `${y}-${d}`));
const blackouts: { start: string; end: string }[] = [];
for (let t = Date.UTC(2025, 11, 3, 9, 0); t < Date.UTC(2029, 0, 1); t += 7 * 86400_000) {
  blackouts.push({ start: new Date(t).toISOString(), end: new Date(t + 3600_000).toISOString() }); // Wednesdays 10:00–11:00 CET
}
const twoIntervals: [string, string][] = [
  ['08:00', '12:00'],
  ['13:00', '17:00'],
];
const SPEC: CalendarSpec = {
  id: 'bench',
  timezone: 'Europe/Berlin',
  weekly: { mon: twoIntervals, tue: twoIntervals, wed: twoIntervals, thu: twoIntervals, fri: twoIntervals },
  holidays,
  blackouts,
};

interface Op {
  kind: 'add' | 'diff';
  t: number;
  /** add: business minutes; diff: the other instant. */
  arg: number;
}

function makeOps(n: number, seed: number): Op[] {
  const rnd = mulberry32(seed);
  const from = Date.UTC(2026, 0, 5);
  const span = Date.UTC(2027, 11, 1) - from;
  const maxMinutes = 30 * 8 * 60; // 30 business days of 8 hours
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const t = from + Math.floor((rnd() * span) / 60000) * 60000;
    // Log-uniform from 1 minute to 30 business days.
    const minutes = Math.max(1, Math.round(Math.exp(rnd() * Math.log(maxMinutes))));
    if (rnd() < 0.5) ops.push({ kind: 'add', t, arg: minutes });
    else ops.push({ kind: 'diff', t, arg: t + Math.round(minutes * 60000 * (1 + 3 * rnd())) });
  }
  return ops;
}

function timeIt(run: () => number): { seconds: number; checksum: number } {
  const t0 = process.hrtime.bigint();
  const checksum = run();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, checksum };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ops: { type: 'string', default: '1000000' }, 'peer-ops': { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } },
  });
  const n = Number(values.ops);
  const peerN = Number(values['peer-ops']);
  const rounds = Number(values.rounds);

  const ours = BusinessCalendar.fromSpec(SPEC);
  const ops = makeOps(n, 42);
  const runOurs = (list: Op[]) => () => {
    let sum = 0;
    for (const op of list) sum += op.kind === 'add' ? ours.add(op.t, op.arg * 60) : ours.diff(op.t, op.arg);
    return sum;
  };

  moment.updateLocale('en', {
    workinghours: {
      0: null,
      1: ['08:00:00', '12:00:00', '13:00:00', '17:00:00'],
      2: ['08:00:00', '12:00:00', '13:00:00', '17:00:00'],
      3: ['08:00:00', '12:00:00', '13:00:00', '17:00:00'],
      4: ['08:00:00', '12:00:00', '13:00:00', '17:00:00'],
      5: ['08:00:00', '12:00:00', '13:00:00', '17:00:00'],
      6: null,
    },
    holidays,
  });
  dayjs.extend(dayjsBusinessTime);
  dayjs.setHolidays(holidays);
  const seg = [
    { start: '08:00:00', end: '12:00:00' },
    { start: '13:00:00', end: '17:00:00' },
  ];
  dayjs.setBusinessTime({ sunday: null, monday: seg, tuesday: seg, wednesday: seg, thursday: seg, friday: seg, saturday: null });

  const peerOps = ops.slice(0, peerN);
  const peers: Record<string, () => number> = {
    'moment-business-time': () => {
      let sum = 0;
      for (const op of peerOps) sum += op.kind === 'add' ? moment(op.t).addWorkingTime(op.arg, 'minutes').valueOf() : moment(op.t).workingDiff(moment(op.arg), 'minutes');
      return sum;
    },
    'dayjs-business-time': () => {
      let sum = 0;
      for (const op of peerOps) sum += op.kind === 'add' ? dayjs(op.t).addBusinessMinutes(op.arg).valueOf() : dayjs(op.arg).businessMinutesDiff(dayjs(op.t));
      return sum;
    },
  };

  say(`calendar benchmark: Europe/Berlin, 2 intervals a day, ${HOLIDAY_DAYS.length} holidays a year, weekly blackout; durations 1 min – 30 business days; ${rounds} rounds`);
  // Warm-up: compiles the windows and lets the JIT settle.
  runOurs(ops.slice(0, 50000))();

  const oursAll: number[] = [];
  const oursSub: number[] = [];
  const peerRates: Record<string, number[]> = Object.fromEntries(Object.keys(peers).map((k) => [k, []]));
  for (let r = 1; r <= rounds; r++) {
    const all = timeIt(runOurs(ops));
    const sub = timeIt(runOurs(peerOps));
    oursAll.push(n / all.seconds);
    oursSub.push(peerOps.length / sub.seconds);
    const line = [
      `round ${r}: temporal-slm ${fmt(n / all.seconds)} ops/s over ${fmt(n)} ops (${all.seconds.toFixed(2)} s), ${fmt(peerOps.length / sub.seconds)} ops/s over the peers' ${fmt(peerOps.length)}`,
    ];
    for (const [name, run] of Object.entries(peers)) {
      const res = timeIt(run);
      peerRates[name]!.push(peerOps.length / res.seconds);
      line.push(`${name} ${fmt(peerOps.length / res.seconds)} ops/s (${res.seconds.toFixed(2)} s)`);
    }
    say(line.join('; '));
  }

  const subMedian = median(oursSub);
  say(`median: temporal-slm ${fmt(median(oursAll))} ops/s (1M mixed), ${fmt(subMedian)} ops/s on the peers' inputs`);
  for (const [name, rates] of Object.entries(peerRates)) say(`  vs ${name}: ${fmt(median(rates))} ops/s → ours/peer ${(subMedian / median(rates)).toFixed(1)}×`);

  // Adds only, for goals under a month.
  const adds = ops.filter((o) => o.kind === 'add');
  const addRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const res = timeIt(runOurs(adds));
    addRates.push(adds.length / res.seconds);
  }
  say(`adds alone (goals up to 30 business days): ${fmt(median(addRates))} adds/s (median of ${rounds})`);

  // Cost of one add by goal length (business time), starting anywhere in 2026–2027.
  const rnd = mulberry32(7);
  const starts = Array.from({ length: 100000 }, () => Date.UTC(2026, 0, 5) + Math.floor(rnd() * 690 * 86400_000));
  const goals: [string, number][] = [
    ['1 h', 3600],
    ['1 day (8 h)', 8 * 3600],
    ['1 week', 40 * 3600],
    ['1 month', 170 * 3600],
    ['3 months', 510 * 3600],
    ['1 year', 2000 * 3600],
  ];
  ours.add(Math.max(...starts), 4000 * 3600); // compile the window the longest goals reach, outside the timing
  const costs = goals.map(([label, secs]) => {
    const samples: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const res = timeIt(() => {
        let sum = 0;
        for (const s of starts) sum += ours.add(s, secs);
        return sum;
      });
      samples.push((res.seconds / starts.length) * 1e9);
    }
    return `${label} ${median(samples).toFixed(0)} ns`;
  });
  say(`cost of one add by goal: ${costs.join(', ')}`);

  // What a workflow's local activity pays to compile a window (DESIGN §2.1 decision in calendar.ts).
  const parsed = parseCalendar(SPEC);
  const compileMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const res = timeIt(() => compileWindow(parsed, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 90 * 86400_000).starts.length);
    compileMs.push(res.seconds * 1000);
  }
  say(`compiling a 90-day window (what a workflow records): ${median(compileMs).toFixed(2)} ms`);

  // The same answers? On a calendar without blackouts the peers can be compared (minute results).
  const plain = BusinessCalendar.fromSpec({ ...SPEC, blackouts: [] });
  const sample = peerOps.filter((o) => o.kind === 'add').slice(0, 500);
  const agree = sample.filter((o) => plain.add(o.t, o.arg * 60) === moment(o.t).addWorkingTime(o.arg, 'minutes').valueOf()).length;
  say(`agreement with moment-business-time on ${sample.length} adds (same calendar without blackouts): ${agree}/${sample.length}`);
}
