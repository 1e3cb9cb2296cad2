/** Engine support run as local activities: work whose inputs (time-zone data) a workflow must not read. */
import { compileWindow, parseCalendar, type CalendarWindow } from '../domain/calendar';

export function createEngineActivities() {
  return {
    /**
     * The open intervals and zone offsets of a calendar over [from, to). The result is recorded in
     * history, so a replay computes due dates from the same numbers even on a Node with newer
     * time-zone rules (DESIGN §2.1).
     */
    async compileCalendarWindow(spec: unknown, from: number, to: number): Promise<CalendarWindow> {
      return compileWindow(parseCalendar(spec), from, to);
    },
  };
}
