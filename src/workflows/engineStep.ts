/**
 * Running a domain engine step inside a workflow on recorded calendar windows (ticket and CI runs
 * alike): when a step needs business time outside the windows recorded so far, the engine state goes
 * back to its copy, the window is widened by a recorded local activity, and the step runs again.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { WindowExceededError, type CalendarWindow } from '../domain/calendar';
import type { LoadedDefinitions } from './ticket/types';

const DAY_MS = 86_400_000;

export async function runOnWindows<S, E>(state: { get(): S; set(s: S): void }, step: () => E[], widen: (calendarKey: string, needed: number) => Promise<void>): Promise<E[]> {
  for (let attempt = 0; ; attempt++) {
    const copy = JSON.stringify(state.get());
    try {
      return step();
    } catch (err) {
      if (!(err instanceof WindowExceededError) || err.calendarId === null || attempt >= 20) throw err;
      state.set(JSON.parse(copy) as S);
      await widen(err.calendarId, err.needed);
    }
  }
}

/**
 * What to compile for a window key `<definitions version>:<calendar id>` that must reach `needed`: the
 * calendar's spec (from the definitions in force, or those being replaced) and the current window grown
 * to a week before and 60 days after `needed` where it does not reach.
 */
export function widening(
  key: string,
  needed: number,
  current: CalendarWindow | undefined,
  defs: LoadedDefinitions | null,
  previousDefs: LoadedDefinitions | null,
): { spec: unknown; from: number; to: number } {
  const sep = key.indexOf(':');
  const version = key.slice(0, sep);
  const spec = defs?.version === version ? defs.compiled.calendars.get(key.slice(sep + 1)) : previousDefs?.compiled.calendars.get(key.slice(sep + 1));
  if (!spec) throw ApplicationFailure.nonRetryable(`calendar ${key} is not in the definitions in force`);
  const from = current && needed >= current.from ? current.from : needed - 7 * DAY_MS;
  const to = current && needed < current.to ? current.to : needed + 60 * DAY_MS;
  return { spec, from: Math.min(from, current?.from ?? from), to: Math.max(to, current?.to ?? to) };
}
