/**
 * Goal and cost schedules (BMC SLM "goal and cost schedule"): a target's goal and cost chosen by the
 * weekday and local time window in which its measurement starts. Windows are local to a time zone
 * (the target's calendar's); a window whose end is not after its start runs overnight and belongs
 * to the day it starts on, as calendar intervals do. The first matching entry wins.
 *
 * The local weekday and minute come from the measurement's calendar (`BusinessTime.localTime`), which
 * in workflows reads the zone offsets recorded with the calendar window, not time-zone data.
 */
import { z } from 'zod';
import { WEEKDAYS, type LocalTime, type Weekday } from '../calendar';
import { positiveDurationSchema } from '../duration';

const time = z.string().regex(/^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$/, 'expected HH:MM');

const ENTRY = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .default([...WEEKDAYS]),
    from: time.default('00:00'),
    to: time.default('24:00'),
    goal: positiveDurationSchema(),
    costPerMinute: z.number().nonnegative().optional(),
  })
  .strict();

const SCHEDULE = z.array(ENTRY).min(1, 'a goal schedule needs at least one entry');
/* An accessor, not the schema: the workflow worker shares this module between workflows and freezes its exports, and a frozen zod schema cannot parse. */
export const goalScheduleSchema = () => SCHEDULE;
export type GoalScheduleEntry = z.output<typeof ENTRY>;

const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

function matches(entry: GoalScheduleEntry, day: Weekday, previousDay: Weekday, minute: number): boolean {
  const from = minutes(entry.from);
  const to = minutes(entry.to);
  if (to > from) return entry.days.includes(day) && minute >= from && minute < to;
  // Overnight: the evening part on a listed day, or the morning part after a listed day.
  return (entry.days.includes(day) && minute >= from) || (entry.days.includes(previousDay) && minute < to);
}

/** The entry that applies to a measurement starting at local time `at`, or null when none does. */
export function goalForStart(schedule: GoalScheduleEntry[], at: LocalTime): GoalScheduleEntry | null {
  const day = WEEKDAYS[at.weekday]!;
  const previousDay = WEEKDAYS[(at.weekday + 6) % 7]!;
  return schedule.find((e) => matches(e, day, previousDay, at.minute)) ?? null;
}
