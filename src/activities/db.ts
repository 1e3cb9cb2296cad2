/** Activities of the `slm` task queue that read and write PostgreSQL. */
import type { Db } from '../db/client';
import { latestDefinitions, loadTicketState, saveTicketState, type TicketStateRecord } from '../db/queries';
import type { ServiceTargetDefinition } from '../domain/definitions';

export function createDbActivities({ db }: { db: Db }) {
  return {
    /**
     * What a ticket workflow needs to apply a batch of changes: the service targets in force (with a
     * version, so the workflow recompiles only on change) and the batch's instant. The workflow
     * passes its own clock in and gets it back: as this activity's result it is recorded in history,
     * so every replay applies the batch at the instant the live run used (a side effect, recorded).
     */
    async loadEngineContext(workflowClock: number): Promise<{ now: number; version: string; serviceTargets: ServiceTargetDefinition[] }> {
      const latest = await latestDefinitions(db);
      return { now: workflowClock, version: String(latest?.version ?? 0), serviceTargets: latest?.body.serviceTargets ?? [] };
    },

    async saveTicketState(rec: TicketStateRecord): Promise<void> {
      await saveTicketState(db, rec);
    },

    async loadTicketState(ticketId: string) {
      return loadTicketState(db, ticketId);
    },
  };
}
