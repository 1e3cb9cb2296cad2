/**
 * Business calendars (DESIGN §4.1): weekly opening hours in an IANA time zone, holidays, per-date
 * overrides and absolute blackouts, with exact business-time arithmetic at one-second precision.
 *
 * How it works: the local rules are compiled, window by window, into absolute open intervals
 * [start, end) in epoch milliseconds, blackouts cut out and neighbours merged, with the cumulative
 * open time before each interval. `add`, `subtract` and `diff` are then two binary searches over plain
 * numbers. Time-zone data (Luxon over the runtime's ICU) is read only while compiling a window.
 *
 * Determinism (DESIGN §2.1): ICU's zone rules change with Node upgrades. Workflows therefore do not
 * compile calendars themselves: a local activity compiles the window a measurement needs
 * (`compileWindow`), the result is recorded in history, and the workflow computes on
 * `BusinessCalendar.fromWindow(...)` — pure arithmetic on recorded numbers, so a replay on a newer
 * Node gives the same due dates. A computation that runs past the recorded window throws
 * `WindowExceededError`, and the workflow asks for a wider one.
 */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?|24:00(?::00)?)$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

const timeString = z.string().regex(TIME, 'expected a local time HH:MM or HH:MM:SS (00:00 to 24:00)');
const interval = z.tuple([timeString, timeString]).refine(([s]) => !s.startsWith('24'), { message: 'an interval cannot start at 24:00' });
const dayIntervals = z.array(interval);
const localDate = z
  .string()
  .regex(DATE, 'expected a local date YYYY-MM-DD')
  .refine((d) => DateTime.fromISO(d, { zone: 'UTC' }).isValid, { message: 'not a calendar date' });
const instant = z.string().refine((s) => /(Z|[+-]\d{2}:?\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s)), { message: 'expected an ISO 8601 instant with Z or an offset' });

const CALENDAR = z
  .object({
    id: z.string().min(1),
    timezone: z.string().refine((zone) => IANAZone.isValidZone(zone), { message: 'unknown IANA time zone' }),
    weekly: z
      .object(Object.fromEntries(WEEKDAYS.map((d) => [d, dayIntervals.optional()])) as Record<Weekday, z.ZodOptional<typeof dayIntervals>>)
      .strict()
      .default({}),
    holidays: z.array(localDate).default([]),
    overrides: z.record(localDate, dayIntervals).default({}),
    blackouts: z
      .array(
        z
          .object({ start: instant, end: instant })
          .strict()
          .refine((b) => Date.parse(b.end) > Date.parse(b.start), { message: 'a blackout must end after it starts', path: ['end'] }),
      )
      .default([]),
  })
  .strict()
  .superRefine((cal, ctx) => {
    const check = (intervals: [string, string][] | undefined, path: (string | number)[]) => {
      const spans = (intervals ?? []).map(([s, e]) => {
        const start = secondsOf(s);
        let end = secondsOf(e);
        if (end <= start) end += 86400; // overnight: runs into the next day
        return [start, end] as const;
      });
      const sorted = spans.map((s, i) => ({ s, i })).sort((a, b) => a.s[0] - b.s[0]);
      for (let k = 1; k < sorted.length; k++) {
        if (sorted[k]!.s[0] < sorted[k - 1]!.s[1]) {
          ctx.addIssue({ code: 'custom', path: [...path, sorted[k]!.i], message: 'overlaps another interval of the same day' });
        }
      }
    };
    for (const d of WEEKDAYS) check(cal.weekly[d], ['weekly', d]);
    for (const [date, list] of Object.entries(cal.overrides)) check(list, ['overrides', date]);
    const weeklyOpen = WEEKDAYS.some((d) => (cal.weekly[d] ?? []).length > 0);
    const overridesOpen = Object.values(cal.overrides).some((l) => l.length > 0);
    if (!weeklyOpen && !overridesOpen) {
      ctx.addIssue({ code: 'custom', path: ['weekly'], message: 'the calendar has no open time at all (every day closed)' });
    }
  });

/* An accessor, not the schema: the workflow worker shares this module between workflows and freezes its exports, and a frozen zod schema cannot parse. */
export const calendarSchema = () => CALENDAR;
export type CalendarSpec = z.input<typeof CALENDAR>;
export type Calendar = z.output<typeof CALENDAR>;

export class CalendarError extends Error {
  override name = 'CalendarError';
}

/** Thrown by a calendar made from a recorded window when a computation needs time outside it. */
export class WindowExceededError extends Error {
  override name = 'WindowExceededError';
  constructor(
    readonly needed: number,
    readonly calendarId: string | null = null,
  ) {
    super(`calendar ${calendarId ?? ''} window does not cover ${new Date(needed).toISOString()}`.replace('  ', ' '));
  }
}

/** Local wall-clock position of an instant: weekday (0 = Monday) and minute of the day. */
export interface LocalTime {
  weekday: number;
  minute: number;
}

/**
 * Business-time arithmetic as the measurement engine needs it: a business calendar or 24×7.
 * Instants are epoch milliseconds and durations milliseconds of business time.
 */
export interface BusinessTime {
  readonly id: string | null;
  addMs(t: number, ms: number): number;
  diffMs(a: number, b: number): number;
  localTime(t: number): LocalTime;
}

/** A target with no calendar runs 24×7 (UTC for goal schedules). */
export const TWENTY_FOUR_SEVEN: BusinessTime = {
  id: null,
  addMs: (t, ms) => t + Math.max(0, ms),
  diffMs: (a, b) => Math.max(0, b - a),
  localTime: (t) => localFromOffset(t, 0),
};

function localFromOffset(t: number, offsetMinutes: number): LocalTime {
  const local = t + offsetMinutes * 60_000;
  const dayIndex = Math.floor(local / DAY_MS);
  // 1970-01-01 was a Thursday (weekday 3 counting from Monday).
  return { weekday: (((dayIndex + 3) % 7) + 7) % 7, minute: Math.floor((local - dayIndex * DAY_MS) / 60_000) };
}

/** Validates a calendar; throws a CalendarError naming the field. */
export function parseCalendar(raw: unknown): Calendar {
  const parsed = CALENDAR.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
    throw new CalendarError(`invalid calendar at ${path || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

function secondsOf(time: string): number {
  const [h, m, s] = time.split(':').map(Number);
  return h! * 3600 + m! * 60 + (s ?? 0);
}

/** Absolute open intervals over [from, to), with the cumulative open time before each. */
export interface CalendarWindow {
  from: number;
  to: number;
  starts: number[];
  ends: number[];
  /** The zone's UTC offset (minutes) from each instant on, first entry at or before `from`. */
  offsets?: [number, number][];
}

const DAY_MS = 86_400_000;

/**
 * Compiles the open intervals of `cal` for every local date whose intervals can touch [fromMs, toMs),
 * clipped to that range. Uses time-zone data: call it outside workflow code (DESIGN §2.1).
 */
export function compileWindow(cal: Calendar, fromMs: number, toMs: number): CalendarWindow {
  const zone = cal.timezone;
  const holidays = new Set(cal.holidays);
  const raw: [number, number][] = [];
  // Start two local days early: an overnight interval from the day before reaches into the range.
  let day = DateTime.fromMillis(fromMs, { zone }).startOf('day').minus({ days: 2 });
  const last = DateTime.fromMillis(toMs, { zone }).startOf('day').plus({ days: 1 });
  while (day <= last) {
    const key = day.toISODate()!;
    const list = cal.overrides[key] ?? (holidays.has(key) ? [] : (cal.weekly[WEEKDAYS[day.weekday - 1]!] ?? []));
    for (const [s, e] of list) {
      const start = localInstant(day, secondsOf(s));
      let endSeconds = secondsOf(e);
      if (endSeconds <= secondsOf(s)) endSeconds += 86400;
      const end = localInstant(day, endSeconds);
      if (end > start) raw.push([start, end]);
    }
    day = day.plus({ days: 1 });
  }
  raw.sort((a, b) => a[0] - b[0]);

  const blackouts = cal.blackouts.map((b) => [Date.parse(b.start), Date.parse(b.end)] as const).sort((a, b) => a[0] - b[0]);
  const starts: number[] = [];
  const ends: number[] = [];
  const push = (s: number, e: number) => {
    s = Math.max(s, fromMs);
    e = Math.min(e, toMs);
    if (e <= s) return;
    const n = starts.length;
    if (n > 0 && s <= ends[n - 1]!) ends[n - 1] = Math.max(ends[n - 1]!, e);
    else {
      starts.push(s);
      ends.push(e);
    }
  };
  for (const [s0, e0] of raw) {
    let s = s0;
    for (const [bs, be] of blackouts) {
      if (be <= s) continue;
      if (bs >= e0) break;
      if (bs > s) push(s, bs);
      s = Math.max(s, be);
      if (s >= e0) break;
    }
    if (s < e0) push(s, e0);
  }
  return { from: fromMs, to: toMs, starts, ends, offsets: offsetChanges(zone, fromMs, toMs) };
}

/** The UTC offsets of `zone` over [fromMs, toMs]: the offset at fromMs, then each change (to the ms). */
function offsetChanges(zoneName: string, fromMs: number, toMs: number): [number, number][] {
  const zone = IANAZone.create(zoneName);
  const out: [number, number][] = [[fromMs, zone.offset(fromMs)]];
  const STEP = 6 * 3600_000; // no zone changes its offset twice within six hours
  for (let a = fromMs; a < toMs; a += STEP) {
    const b = Math.min(a + STEP, toMs);
    if (zone.offset(a) === zone.offset(b)) continue;
    let lo = a;
    let hi = b;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (zone.offset(mid) === zone.offset(a)) lo = mid;
      else hi = mid;
    }
    out.push([hi, zone.offset(hi)]);
  }
  return out;
}

/** The instant of local wall-clock `seconds` after the start of local `day` (may pass midnight). */
function localInstant(day: DateTime, seconds: number): number {
  const d = seconds >= 86400 ? day.plus({ days: 1 }) : day;
  const s = seconds % 86400;
  // A wall time inside a spring-forward gap does not exist; Luxon moves it forward by the gap.
  return DateTime.fromObject(
    { year: d.year, month: d.month, day: d.day, hour: Math.floor(s / 3600), minute: Math.floor((s % 3600) / 60), second: s % 60 },
    { zone: d.zone },
  ).toMillis();
}

const CHUNK_MS = 400 * DAY_MS;
const HORIZON_MS = 200 * 365 * DAY_MS;
const EPOCH_2000 = Date.UTC(2000, 0, 1);

/** Exact business-time arithmetic on one calendar. Instants are epoch milliseconds; durations seconds. */
export class BusinessCalendar implements BusinessTime {
  private starts: number[] = [];
  private ends: number[] = [];
  /** cum[i]: open milliseconds from the window start to starts[i]; cum[n]: the window's total. */
  private cum: number[] = [0];
  private from = 0;
  private to = 0;
  private offsets: [number, number][] = [];

  private constructor(
    private readonly cal: Calendar | null,
    window: CalendarWindow | null,
    private readonly openUntil: number,
  ) {
    if (window) this.load(window);
  }

  /** A calendar that compiles windows as it needs them (outside workflows). */
  static fromSpec(raw: unknown): BusinessCalendar {
    const cal = parseCalendar(raw);
    const weeklyOpen = WEEKDAYS.some((d) => (cal.weekly[d] ?? []).length > 0);
    // Without weekly hours only the override dates are open: nothing exists past the last one.
    const lastOverride = Object.keys(cal.overrides).sort().pop();
    const openUntil = weeklyOpen || !lastOverride ? Infinity : DateTime.fromISO(lastOverride, { zone: cal.timezone }).plus({ days: 2 }).toMillis();
    return new BusinessCalendar(cal, null, openUntil);
  }

  /** A calendar over a recorded window only (workflow code): outside it, WindowExceededError. */
  static fromWindow(window: CalendarWindow, id: string | null = null): BusinessCalendar {
    const c = new BusinessCalendar(null, window, Infinity);
    c.windowId = id;
    return c;
  }

  private windowId: string | null = null;

  get id(): string | null {
    return this.cal?.id ?? this.windowId;
  }

  /** The spec this calendar compiles from (null for a recorded window). */
  get spec(): Calendar | null {
    return this.cal;
  }

  /** The compiled window currently held, for recording in workflow history. */
  get window(): CalendarWindow {
    return { from: this.from, to: this.to, starts: this.starts, ends: this.ends, offsets: this.offsets };
  }

  localTime(t: number): LocalTime {
    if (this.cal) {
      const local = DateTime.fromMillis(t, { zone: this.cal.timezone });
      return { weekday: local.weekday - 1, minute: local.hour * 60 + local.minute };
    }
    if (t < this.from || t > this.to || this.offsets.length === 0) throw new WindowExceededError(t, this.id);
    let offset = this.offsets[0]![1];
    for (const [at, minutes] of this.offsets) if (at <= t) offset = minutes;
    return localFromOffset(t, offset);
  }

  /** Business milliseconds in [a, b]; 0 when b < a. */
  diffMs(a: number, b: number): number {
    if (b <= a) return 0;
    this.cover(a, b);
    return this.cumAt(b) - this.cumAt(a);
  }

  private load(w: CalendarWindow): void {
    this.from = w.from;
    this.to = w.to;
    this.starts = w.starts;
    this.ends = w.ends;
    this.offsets = w.offsets ?? [];
    const cum = new Array<number>(w.starts.length + 1);
    cum[0] = 0;
    for (let i = 0; i < w.starts.length; i++) cum[i + 1] = cum[i]! + (w.ends[i]! - w.starts[i]!);
    this.cum = cum;
  }

  /**
   * Makes the window cover [a, b] with b strictly inside: intervals are clipped at the window's end,
   * so an end equal to `to` is not a real closing.
   */
  private cover(a: number, b: number): void {
    const empty = this.to <= this.from;
    if (!empty && a >= this.from && b < this.to) return;
    if (!this.cal) throw new WindowExceededError(a < this.from ? a : b, this.id);
    if (a < EPOCH_2000 - HORIZON_MS || b > EPOCH_2000 + HORIZON_MS) throw new CalendarError('instant out of the supported range (±200 years around 2000)');
    const from = empty || a < this.from ? a - CHUNK_MS / 4 : this.from;
    const to = empty || b >= this.to ? b + CHUNK_MS : this.to;
    this.load(compileWindow(this.cal, from, to));
  }

  /** Index of the last interval starting at or before t, or -1. */
  private indexAt(t: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Open milliseconds from the window start up to t. */
  private cumAt(t: number): number {
    const i = this.indexAt(t);
    if (i < 0) return 0;
    return this.cum[i]! + Math.min(t, this.ends[i]!) - this.starts[i]!;
  }

  isOpen(t: number): boolean {
    this.cover(t, t);
    const i = this.indexAt(t);
    return i >= 0 && t < this.ends[i]!;
  }

  /** The next business instant at or after t. */
  advance(t: number): number {
    return this.nextChangeFrom(t, true);
  }

  /**
   * When the calendar next opens (if closed at t) or closes (if open at t): what a workflow sleeps
   * until. Null when it stays open for more than `withinDays` (a 24×7 calendar never closes).
   */
  nextChange(t: number, withinDays = 366): { at: number; opens: boolean } | null {
    const limit = t + withinDays * DAY_MS;
    for (;;) {
      this.cover(t, t + DAY_MS);
      const i = this.indexAt(t);
      if (i >= 0 && t < this.ends[i]!) {
        const end = this.ends[i]!;
        if (end < this.to) return { at: end, opens: false };
        if (end > limit) return null;
      } else if (i + 1 < this.starts.length) return { at: this.starts[i + 1]!, opens: true };
      this.extendForward(this.to);
    }
  }

  private nextChangeFrom(t: number, atOrAfter: boolean): number {
    for (;;) {
      this.cover(t, t + DAY_MS);
      const i = this.indexAt(t);
      if (atOrAfter && i >= 0 && t < this.ends[i]!) return t;
      if (i + 1 < this.starts.length) return this.starts[i + 1]!;
      this.extendForward(t);
    }
  }

  private extendForward(t: number): void {
    if (this.to >= this.openUntil) throw new CalendarError(`calendar ${this.id ?? ''} has no open time after ${new Date(this.openUntil).toISOString()}`.replace('  ', ' '));
    if (!this.cal) throw new WindowExceededError(this.to, this.id);
    this.cover(this.from, Math.max(this.to, t) + CHUNK_MS);
  }

  private extendBackward(): void {
    if (!this.cal) throw new WindowExceededError(this.from - 1, this.id);
    this.cover(this.from - CHUNK_MS, this.to - 1);
  }

  /** The instant `seconds` of business time after t. Zero from closed time gives the next opening. */
  add(t: number, seconds: number): number {
    return this.addMs(t, seconds * 1000);
  }

  /** `add` in milliseconds of business time. */
  addMs(t: number, d: number): number {
    if (d < 0) return this.subtract(t, -d / 1000);
    if (d === 0) return this.advance(t);
    this.cover(t, t + d);
    for (;;) {
      const target = this.cumAt(t) + d;
      const n = this.starts.length;
      if (target <= this.cum[n]!) {
        // The first interval whose end reaches the target; ending exactly at a closing returns it.
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (this.cum[mid + 1]! >= target) hi = mid;
          else lo = mid + 1;
        }
        return this.starts[lo]! + (target - this.cum[lo]!);
      }
      this.extendForward(t);
    }
  }

  /** The instant `seconds` of business time before t; mirrors `add` (zero from closed time gives the previous closing). */
  subtract(t: number, seconds: number): number {
    if (seconds < 0) return this.add(t, -seconds);
    const d = seconds * 1000;
    this.cover(t - d, t);
    for (;;) {
      if (seconds === 0) {
        const i = this.indexAt(t);
        if (i >= 0 && t <= this.ends[i]! && t > this.starts[i]!) return t;
        if (i >= 0 && t === this.starts[i]!) return t;
        if (i >= 0) return this.ends[i]!;
        this.extendBackward();
        continue;
      }
      const target = this.cumAt(t) - d;
      if (target > 0 || (target === 0 && this.starts.length > 0 && this.from < this.starts[0]!)) {
        // The last interval starting at or before the target; ending exactly at an opening returns it.
        let lo = 0;
        let hi = this.starts.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (this.cum[mid]! <= target) lo = mid;
          else hi = mid - 1;
        }
        return this.starts[lo]! + (target - this.cum[lo]!);
      }
      this.extendBackward();
    }
  }

  /** Business seconds in [a, b] (whole seconds, rounded down); 0 when b < a. */
  diff(a: number, b: number): number {
    if (b <= a) return 0;
    this.cover(a, b);
    return Math.floor((this.cumAt(b) - this.cumAt(a)) / 1000);
  }
}
