/** Engine support run as local activities: work whose inputs (time-zone data) a workflow must not read. */
import { compileWindow, parseCalendar, type CalendarWindow } from '../domain/calendar';

const DAY_MS = 86_400_000;
const CACHED_WINDOWS = 256;

export function createEngineActivities() {
  // Tickets opened the same day ask for nearly the same window; whole UTC days make them share one.
  const windows = new Map<string, CalendarWindow>();
  return {
    /**
     * The open intervals and zone offsets of a calendar over at least [from, to), widened to whole
     * UTC days. The result is recorded in history, so a replay computes due dates from the same
     * numbers even on a Node with newer time-zone rules (DESIGN §2.1).
     */
    async compileCalendarWindow(spec: unknown, from: number, to: number): Promise<CalendarWindow> {
      const dayFrom = Math.floor(from / DAY_MS) * DAY_MS;
      const dayTo = Math.ceil(to / DAY_MS) * DAY_MS;
      const key = `${dayFrom}:${dayTo}:${JSON.stringify(spec)}`;
      let window = windows.get(key);
      if (!window) {
        window = compileWindow(parseCalendar(spec), dayFrom, dayTo);
        windows.set(key, window);
        if (windows.size > CACHED_WINDOWS) windows.delete(windows.keys().next().value!);
      }
      return window;
    },
  };
}
