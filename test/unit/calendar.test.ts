/**
 * Business-calendar arithmetic. Expectations are computed by hand from the zone rules (noted next to
 * each case); the properties at the end hold for any instant and duration.
 */
import fc from 'fast-check';
import { BusinessCalendar, compileWindow, parseCalendar, WindowExceededError } from '../../src/domain/calendar';
import { goalForStart, goalScheduleSchema } from '../../src/domain/request/goalSchedule';

const H = 3600;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const allDay = [['00:00', '24:00']] as [string, string][];
const everyDay = (intervals: [string, string][]) => ({ mon: intervals, tue: intervals, wed: intervals, thu: intervals, fri: intervals, sat: intervals, sun: intervals });
const weekdays = (intervals: [string, string][]) => ({ mon: intervals, tue: intervals, wed: intervals, thu: intervals, fri: intervals });

describe('Europe/Berlin', () => {
  const cal = BusinessCalendar.fromSpec({
    id: 'berlin',
    timezone: 'Europe/Berlin',
    weekly: {
      ...weekdays([['08:00', '18:00']]),
      tue: [
        ['08:00', '12:00'],
        ['13:00', '18:00'],
      ],
      sat: [['22:00', '06:00']],
      sun: [],
    },
  });

  it('adds within a day and across the lunch break', () => {
    // Mon 2026-03-02 08:00 CET = 07:00Z; +4 h → 12:00 CET.
    expect(iso(cal.add(at('2026-03-02T07:00:00Z'), 4 * H))).toBe('2026-03-02T11:00:00Z');
    // Tue 11:00 CET (10:00Z) + 2 h: one hour to 12:00, lunch, one hour from 13:00 → 14:00 CET.
    expect(iso(cal.add(at('2026-03-03T10:00:00Z'), 2 * H))).toBe('2026-03-03T13:00:00Z');
  });

  it('returns the closing instant when an addition ends exactly there, and rolls on after it', () => {
    expect(iso(cal.add(at('2026-03-02T07:00:00Z'), 10 * H))).toBe('2026-03-02T17:00:00Z');
    expect(iso(cal.add(at('2026-03-02T07:00:00Z'), 10 * H + 1))).toBe('2026-03-03T07:00:01Z');
  });

  it('counts a week with its Saturday night shift', () => {
    // Mon–Fri 10+9+10+10+10 h, Sat 22:00 → Sun 06:00 8 h = 57 h.
    expect(cal.diff(at('2026-03-02T07:00:00Z'), at('2026-03-09T07:00:00Z'))).toBe(57 * H);
  });

  it('shortens an overnight shift across spring-forward and lengthens it across fall-back', () => {
    // 2026-03-28 22:00 CET (21:00Z) → 03-29 06:00 CEST (04:00Z): 7 real hours.
    expect(cal.diff(at('2026-03-28T12:00:00Z'), at('2026-03-29T12:00:00Z'))).toBe(7 * H);
    // 2026-10-24 22:00 CEST (20:00Z) → 10-25 06:00 CET (05:00Z): 9 real hours.
    expect(cal.diff(at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'))).toBe(9 * H);
  });

  it('starts from closed time at the next opening', () => {
    // Sat 12:00 CET: next opening Sat 22:00 CET = 21:00Z.
    expect(iso(cal.add(at('2026-03-07T11:00:00Z'), 0))).toBe('2026-03-07T21:00:00Z');
    expect(iso(cal.advance(at('2026-03-07T11:00:00Z')))).toBe('2026-03-07T21:00:00Z');
    expect(iso(cal.add(at('2026-03-07T11:00:00Z'), 30 * 60))).toBe('2026-03-07T21:30:00Z');
  });
});

describe('America/Sao_Paulo (DST changed at midnight until 2019)', () => {
  const cal = BusinessCalendar.fromSpec({ id: 'sp', timezone: 'America/Sao_Paulo', weekly: everyDay([['08:00', '18:00']]) });
  const full = BusinessCalendar.fromSpec({ id: 'sp-24', timezone: 'America/Sao_Paulo', weekly: everyDay(allDay) });

  it('has a 23-hour day when midnight did not exist (2018-11-04)', () => {
    // 2018-11-04 00:00 -03 jumped to 01:00 -02: the local day runs 03:00Z → 2018-11-05 02:00Z.
    expect(full.diff(at('2018-11-04T03:00:00Z'), at('2018-11-05T02:00:00Z'))).toBe(23 * H);
    expect(iso(full.advance(at('2018-11-04T03:00:00Z')))).toBe('2018-11-04T03:00:00Z');
  });

  it('carries an addition over the change with the new offset', () => {
    // Sat 2018-11-03 17:00 -03 (20:00Z) + 2 h: 1 h to 18:00 -03 (21:00Z), then Sun 08:00 -02 (10:00Z) + 1 h.
    expect(iso(cal.add(at('2018-11-03T20:00:00Z'), 2 * H))).toBe('2018-11-04T11:00:00Z');
  });

  it('has a 25-hour day when the clock fell back at midnight (2019-02-16)', () => {
    // 2019-02-17 00:00 -02 became 2019-02-16 23:00 -03: Feb 16 runs 02:00Z → Feb 17 03:00Z.
    expect(full.diff(at('2019-02-16T02:00:00Z'), at('2019-02-17T03:00:00Z'))).toBe(25 * H);
  });
});

describe('Australia/Lord_Howe (half-hour DST shifts)', () => {
  const cal = BusinessCalendar.fromSpec({ id: 'lh', timezone: 'Australia/Lord_Howe', weekly: { sun: [['00:00', '06:00']] } });

  it('loses half an hour on the first Sunday of October', () => {
    // 2026-10-04 02:00 +10:30 → 02:30 +11: 00:00–06:00 lasts 5.5 h (03-Oct 13:30Z → 03-Oct 19:00Z).
    expect(cal.diff(at('2026-10-03T12:00:00Z'), at('2026-10-04T12:00:00Z'))).toBe(5.5 * H);
    expect(iso(cal.advance(at('2026-10-03T12:00:00Z')))).toBe('2026-10-03T13:30:00Z');
  });

  it('gains half an hour on the first Sunday of April', () => {
    // 2026-04-05 02:00 +11 → 01:30 +10:30: 00:00 +11 (04-Apr 13:00Z) to 06:00 +10:30 (19:30Z) = 6.5 h.
    expect(cal.diff(at('2026-04-04T12:00:00Z'), at('2026-04-05T12:00:00Z'))).toBe(6.5 * H);
  });
});

describe('Australia/Sydney (southern hemisphere)', () => {
  const cal = BusinessCalendar.fromSpec({ id: 'syd', timezone: 'Australia/Sydney', weekly: weekdays([['09:00', '17:00']]) });

  it('carries a Friday addition over the weekend DST end into Monday', () => {
    // Fri 2026-04-03 16:00 AEDT (+11) = 05:00Z; 1 h to 17:00; DST ends Sun 5 Apr;
    // Mon 09:00 AEST (+10) = Sun 23:00Z; + 1 h = Mon 00:00Z.
    expect(iso(cal.add(at('2026-04-03T05:00:00Z'), 2 * H))).toBe('2026-04-06T00:00:00Z');
  });

  it('subtracts back over the weekend the same way', () => {
    expect(iso(cal.subtract(at('2026-04-06T00:00:00Z'), 2 * H))).toBe('2026-04-03T05:00:00Z');
  });
});

describe('UTC: holidays, overrides, blackouts, closed starts', () => {
  const cal = BusinessCalendar.fromSpec({
    id: 'utc',
    timezone: 'UTC',
    weekly: {
      ...weekdays([['09:00', '17:00']]),
      fri: [
        ['09:00', '17:00'],
        ['22:00', '06:00'],
      ],
    },
    holidays: ['2026-03-04', '2026-03-07', '2026-03-11'],
    overrides: { '2026-03-07': [['10:00', '12:00']] },
    blackouts: [{ start: '2026-03-05T10:00:00Z', end: '2026-03-05T11:00:00Z' }],
  });

  it('skips a holiday', () => {
    // Tue 16:00 + 2 h: 1 h Tue, Wed 4 Mar holiday, Thu 09:00 + 1 h = 10:00, where the blackout closes.
    expect(iso(cal.add(at('2026-03-03T16:00:00Z'), 2 * H))).toBe('2026-03-05T10:00:00Z');
    expect(iso(cal.add(at('2026-03-03T16:00:00Z'), 2 * H + 1))).toBe('2026-03-05T11:00:01Z');
  });

  it('stops the clock during a blackout', () => {
    expect(cal.diff(at('2026-03-05T09:00:00Z'), at('2026-03-05T17:00:00Z'))).toBe(7 * H);
    expect(cal.isOpen(at('2026-03-05T10:30:00Z'))).toBe(false);
    expect(cal.nextChange(at('2026-03-05T10:30:00Z'))).toEqual({ at: at('2026-03-05T11:00:00Z'), opens: true });
  });

  it('lets an override beat a holiday on the same date, and keeps the overnight shift from the day before', () => {
    // Fri 6 Mar 22:00 → Sat 06:00 (8 h) still counts; Sat 7 Mar is a holiday but its override opens 10–12.
    expect(cal.diff(at('2026-03-06T17:00:00Z'), at('2026-03-08T00:00:00Z'))).toBe(10 * H);
  });

  it('rolls a zero addition forward and a zero subtraction back from closed time', () => {
    expect(iso(cal.add(at('2026-03-08T12:00:00Z'), 0))).toBe('2026-03-09T09:00:00Z');
    expect(iso(cal.subtract(at('2026-03-08T12:00:00Z'), 0))).toBe('2026-03-07T12:00:00Z');
    expect(iso(cal.add(at('2026-03-08T12:00:00Z'), H))).toBe('2026-03-09T10:00:00Z');
  });

  it('returns 0 for a reversed diff', () => {
    expect(cal.diff(at('2026-03-09T12:00:00Z'), at('2026-03-09T10:00:00Z'))).toBe(0);
  });

  it('tells whether it is open and when that next changes', () => {
    expect(cal.isOpen(at('2026-03-09T09:00:00Z'))).toBe(true);
    expect(cal.isOpen(at('2026-03-09T17:00:00Z'))).toBe(false);
    expect(cal.nextChange(at('2026-03-09T12:00:00Z'))).toEqual({ at: at('2026-03-09T17:00:00Z'), opens: false });
    expect(cal.nextChange(at('2026-03-10T17:00:00Z'))).toEqual({ at: at('2026-03-12T09:00:00Z'), opens: true });
  });

  it('never closes when open around the clock', () => {
    const always = BusinessCalendar.fromSpec({ id: '24x7', timezone: 'UTC', weekly: everyDay(allDay) });
    expect(always.nextChange(at('2026-03-09T12:00:00Z'), 30)).toBeNull();
    expect(always.diff(at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'))).toBe(31 * 24 * H);
  });
});

describe('recorded windows (workflow use)', () => {
  it('computes the same results from a recorded window and refuses to leave it', () => {
    const spec = { id: 'b', timezone: 'Europe/Berlin', weekly: weekdays([['08:00', '18:00']]) };
    const live = BusinessCalendar.fromSpec(spec);
    const window = compileWindow(parseCalendar(spec), at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'));
    const recorded = BusinessCalendar.fromWindow(JSON.parse(JSON.stringify(window)) as typeof window);
    expect(recorded.add(at('2026-03-02T07:00:00Z'), 50 * H)).toBe(live.add(at('2026-03-02T07:00:00Z'), 50 * H));
    expect(() => recorded.add(at('2026-03-02T07:00:00Z'), 500 * H)).toThrow(WindowExceededError);
  });
});

describe('validation', () => {
  const base = { id: 'v', timezone: 'UTC', weekly: { mon: [['09:00', '17:00']] } };
  it.each([
    [{ ...base, weekly: { mon: [['9:00', '17:00']] } }, /weekly\.mon\[0\]\[0\]: expected a local time/],
    [{ ...base, timezone: 'Europe/Atlantis' }, /timezone: unknown IANA time zone/],
    [
      {
        ...base,
        weekly: {
          mon: [
            ['09:00', '13:00'],
            ['12:00', '17:00'],
          ],
        },
      },
      /weekly\.mon\[1\]: overlaps/,
    ],
    [{ ...base, weekly: {} }, /no open time at all/],
    [{ ...base, weekly: { mon: [] }, overrides: {} }, /no open time at all/],
    [{ ...base, holidays: ['2026-02-30'] }, /holidays\[0\]: not a calendar date/],
    [{ ...base, blackouts: [{ start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' }] }, /blackouts\[0\]\.end: a blackout must end after it starts/],
    [{ ...base, weekly: { monday: [['09:00', '17:00']] } }, /weekly/],
  ])('rejects %j', (spec, message) => {
    expect(() => BusinessCalendar.fromSpec(spec)).toThrow(message);
  });

  it('reports running out of open time in a calendar made of overrides only', () => {
    const cal = BusinessCalendar.fromSpec({ id: 'o', timezone: 'UTC', overrides: { '2026-03-02': [['09:00', '10:00']] } });
    expect(iso(cal.add(at('2026-03-01T00:00:00Z'), 1800))).toBe('2026-03-02T09:30:00Z');
    expect(() => cal.add(at('2026-03-01T00:00:00Z'), 2 * H)).toThrow(/no open time after/);
  });
});

describe('goal schedules', () => {
  const berlin = BusinessCalendar.fromSpec({ id: 'berlin', timezone: 'Europe/Berlin', weekly: { mon: [['09:00', '17:00']] } });
  it('reads local time from a recorded window exactly as from the zone, across both DST changes', () => {
    const from = at('2026-03-01T00:00:00Z');
    const to = at('2026-11-01T00:00:00Z');
    const recorded = BusinessCalendar.fromWindow(compileWindow(berlin.spec!, from, to), 'berlin');
    expect(recorded.window.offsets).toEqual([
      [from, 60],
      [at('2026-03-29T01:00:00Z'), 120],
      [at('2026-10-25T01:00:00Z'), 60],
    ]);
    for (let t = from; t < to; t += 3_599_777) expect(recorded.localTime(t)).toEqual(berlin.localTime(t));
    expect(() => recorded.localTime(to + 1)).toThrow(WindowExceededError);
  });
  const schedule = goalScheduleSchema().parse([
    { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', goal: '4h', costPerMinute: 10 },
    { days: ['fri'], from: '18:00', to: '08:00', goal: '8h' },
    { goal: '12h' },
  ]);
  it.each([
    ['2026-03-02T09:00:00+01:00', 4 * H], // Mon 09:00 Berlin: business hours
    ['2026-03-06T23:00:00+01:00', 8 * H], // Fri night
    ['2026-03-07T07:59:00+01:00', 8 * H], // Sat morning, still Friday's overnight window
    ['2026-03-07T08:00:00+01:00', 12 * H], // Sat 08:00: the catch-all
  ])('picks the goal for a start at %s', (start, goal) => {
    expect(goalForStart(schedule, berlin.localTime(Date.parse(start)))?.goal).toBe(goal);
  });
  it('returns null when no entry matches', () => {
    expect(goalForStart(schedule.slice(0, 1), berlin.localTime(Date.parse('2026-03-07T12:00:00+01:00')))).toBeNull();
  });
});

describe('properties', () => {
  const calendars = [
    BusinessCalendar.fromSpec({
      id: 'realistic',
      timezone: 'Europe/Berlin',
      weekly: {
        ...weekdays([
          ['08:00', '12:00'],
          ['13:00', '17:30'],
        ]),
        sat: [['22:00', '06:00']],
      },
      holidays: ['2026-01-01', '2026-04-03', '2026-04-06', '2026-05-01', '2026-12-25', '2026-12-26', '2027-01-01'],
      overrides: { '2026-12-24': [['08:00', '12:00']] },
      blackouts: [{ start: '2026-06-01T22:00:00Z', end: '2026-06-02T02:00:00Z' }],
    }),
    BusinessCalendar.fromSpec({
      id: 'lord-howe',
      timezone: 'Australia/Lord_Howe',
      weekly: everyDay([
        ['00:00', '03:00'],
        ['20:00', '24:00'],
      ]),
    }),
    BusinessCalendar.fromSpec({ id: 'sao-paulo-2018', timezone: 'America/Sao_Paulo', weekly: everyDay([['23:00', '01:00']]) }),
  ];
  const instant = fc.integer({ min: at('2018-06-01T00:00:00Z') / 1000, max: at('2027-06-01T00:00:00Z') / 1000 }).map((s) => s * 1000);
  const duration = fc.integer({ min: 0, max: 30 * 10 * H });
  const calendar = fc.constantFrom(...calendars);

  it('diff(t, add(t, d)) == d', () => {
    fc.assert(
      fc.property(calendar, instant, duration, (cal, t, d) => cal.diff(t, cal.add(t, d)) === d),
      { numRuns: 400 },
    );
  });

  it('subtract inverts add (back to the first business instant at or after t)', () => {
    fc.assert(
      fc.property(calendar, instant, duration, (cal, t, d) => cal.subtract(cal.add(t, d), d) === cal.advance(t)),
      { numRuns: 400 },
    );
  });

  it('diff is additive over any split point', () => {
    fc.assert(
      fc.property(calendar, instant, instant, instant, (cal, x, y, z) => {
        const [a, m, b] = [x, y, z].sort((p, q) => p - q) as [number, number, number];
        return cal.diff(a, b) === cal.diff(a, m) + cal.diff(m, b);
      }),
      { numRuns: 300 },
    );
  });

  it('add and advance never land inside closed time', () => {
    fc.assert(
      fc.property(calendar, instant, duration, (cal, t, d) => {
        const r = cal.add(t, d);
        const a = cal.advance(t);
        // An addition may end exactly at a closing; otherwise the result is open.
        return cal.isOpen(a) && (cal.isOpen(r) || (d > 0 && cal.isOpen(r - 1000)));
      }),
      { numRuns: 400 },
    );
  });

  it('add is monotonic in the duration', () => {
    fc.assert(
      fc.property(calendar, instant, duration, duration, (cal, t, d1, d2) => (d1 <= d2 ? cal.add(t, d1) <= cal.add(t, d2) : cal.add(t, d1) >= cal.add(t, d2))),
      { numRuns: 400 },
    );
  });
});
