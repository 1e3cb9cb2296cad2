/** Engine support run as local activities: work whose inputs (time-zone data) a workflow must not read. */
import { compileWindow, parseCalendar, type CalendarWindow } from '../domain/calendar';

const DAY_MS = 86_400_000;
const CACHED_WINDOWS = 256;

/** What a ticket run learns from the worker running its batch (recorded with the batch's clock). */
export interface WorkerFacts {
  /** This worker has a source webhook (SLM_SOURCE_WEBHOOK) to post ticket fields back to. */
  writesBack: boolean;
  /** Start-to-close of one tmf activity, from SNOW_HTTP_TIMEOUT (null: the run's default). */
  tmfTimeoutSeconds: number | null;
}

export const NO_WORKER_FACTS: WorkerFacts = { writesBack: false, tmfTimeoutSeconds: null };

export function createEngineActivities(facts: WorkerFacts = NO_WORKER_FACTS) {
  // Tickets opened the same day ask for nearly the same window; whole UTC days make them share one.
  const windows = new Map<string, CalendarWindow>();
  return {
    /**
     * The instant a batch of changes applies at: the workflow's own clock, passed in and returned so
     * that it is recorded in history (every replay applies the batch at the instant the live run used),
     * with the facts of this worker.
     */
    async batchClock(workflowClock: number): Promise<{ now: number } & WorkerFacts> {
      return { now: workflowClock, ...facts };
    },

    /**
     * A CI batch's instant, with the instant the run had applied up to (`floor`): KPI readings in the
     * batch apply at their own instants, never before `floor` nor after `now`. Both recorded, so an
     * export of the history places every reading where the run did.
     */
    async ciBatchClock(workflowClock: number, floor: number): Promise<{ now: number; floor: number }> {
      return { now: workflowClock, floor };
    },

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
