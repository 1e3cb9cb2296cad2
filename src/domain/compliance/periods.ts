/**
 * Review periods (DESIGN §4.8): half-open `[start, end)` between local midnights of the agreement's
 * time zone — a day, a week from Monday, a month, a quarter from January, April, July or October. A
 * local day may be 23 or 25 hours, so a month holding a DST change is 743 or 745.
 */
import { DateTime } from 'luxon';
import type { ReviewPeriod } from './agreements';

export interface Period {
  kind: ReviewPeriod;
  start: number;
  end: number;
}

const UNIT: Record<ReviewPeriod, 'day' | 'week' | 'month' | 'quarter'> = { daily: 'day', weekly: 'week', monthly: 'month', quarterly: 'quarter' };
const STEP: Record<ReviewPeriod, { days?: number; weeks?: number; months?: number }> = {
  daily: { days: 1 },
  weekly: { weeks: 1 },
  monthly: { months: 1 },
  quarterly: { months: 3 },
};

/** The period of `kind` holding instant `t` in `zone`. Luxon's weeks start on Monday (ISO). */
export function periodOf(kind: ReviewPeriod, zone: string, t: number): Period {
  const start = DateTime.fromMillis(t, { zone }).startOf(UNIT[kind]);
  return { kind, start: start.toMillis(), end: start.plus(STEP[kind]).toMillis() };
}

/** The period after `p`. */
export function nextPeriod(p: Period, zone: string): Period {
  return periodOf(p.kind, zone, p.end);
}

/** Every period of `kind` from the one holding `from` to the one holding `to`, in order. */
export function periodsBetween(kind: ReviewPeriod, zone: string, from: number, to: number): Period[] {
  const out: Period[] = [];
  for (let p = periodOf(kind, zone, from); p.start <= to; p = nextPeriod(p, zone)) out.push(p);
  return out;
}

/** An instant as the records print it: ISO 8601 with the zone's offset, no milliseconds when whole. */
export function localIso(t: number, zone: string): string {
  return DateTime.fromMillis(t, { zone }).toISO({ suppressMilliseconds: true })!;
}

/** The instant of local midnight starting `date` (YYYY-MM-DD) in `zone`. */
export function dayStart(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').toMillis();
}

/** A period's key within an agreement: `monthly@2026-03-01T00:00:00+01:00`. */
export function periodKey(p: Period, zone: string): string {
  return `${p.kind}@${localIso(p.start, zone)}`;
}
