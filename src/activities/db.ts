/** Activities of the `slm` task queue that read and write PostgreSQL. */
import type { Db } from '../db/client';
import { saveCiState, type CiStateRecord } from '../db/ciQueries';
import { latestDefinitions, loadTicketState, saveTicketState, type TicketStateRecord } from '../db/queries';
import { parseDefinitions, type Definitions } from '../domain/definitions';
import { NO_WORKER_FACTS, type WorkerFacts } from './engine';
import { NO_NUDGES, type ComplianceNudger } from './complianceNudge';

/** `facts`: what this worker tells the runs it hosts (see `batchClock`). */
/** `compliance` is poked when measurements change (see complianceNudge.ts). */
export function createDbActivities({ db, facts = NO_WORKER_FACTS, compliance = NO_NUDGES }: { db: Db; facts?: WorkerFacts; compliance?: ComplianceNudger }) {
  /** The batch's instant, the definitions' version and (when not `knownVersion`) the document, and this worker's facts. */
  function contextOf(
    latest: Awaited<ReturnType<typeof latestDefinitions>>,
    now: number,
    knownVersion: string | null,
  ): { now: number; version: string; definitions: Definitions | null } & WorkerFacts {
    const version = String(latest?.version ?? 0);
    return { now, version, definitions: version === knownVersion ? null : (latest?.body ?? parseDefinitions({})), ...facts };
  }

  return {
    /**
     * What a ticket workflow needs to apply a batch of changes: the batch's instant and the service
     * targets in force. The workflow passes its own clock in and gets it back: as this activity's
     * result it is recorded in history, so every replay applies the batch at the instant the live run
     * used (a side effect, recorded). Targets come back only when the workflow's `knownVersion` is
     * stale, so history does not carry the whole definitions document for every change. `writesBack`
     * spares workflows the connector's write-backs when there is no source to write to.
     */
    async loadEngineContext(workflowClock: number, knownVersion: string | null): Promise<{ now: number; version: string; definitions: Definitions | null } & WorkerFacts> {
      return contextOf(await latestDefinitions(db), workflowClock, knownVersion);
    },

    /**
     * A new run's first step in one call: the state the ticket's last run saved (null for a new
     * ticket) and the engine context (`loadEngineContext` with no version known yet).
     */
    async startRun(ticketId: string, workflowClock: number) {
      const [saved, latest] = await Promise.all([loadTicketState(db, ticketId), latestDefinitions(db)]);
      return { saved, ...contextOf(latest, workflowClock, null) };
    },

    /** Saves, and returns the wall clock after saving (the workflow times its next timer from it). */
    async saveTicketState(rec: TicketStateRecord): Promise<number> {
      if (await saveTicketState(db, rec)) compliance.poke();
      return Date.now();
    },

    /** A CI run's row and its new or changed segments (DESIGN §4.7). */
    async saveCiState(rec: CiStateRecord): Promise<number> {
      if (await saveCiState(db, rec)) compliance.poke();
      return Date.now();
    },

    async loadTicketState(ticketId: string) {
      return loadTicketState(db, ticketId);
    },
  };
}
