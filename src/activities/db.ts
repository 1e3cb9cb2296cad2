/** Activities of the `slm` task queue that read and write PostgreSQL. */
import type { Db } from '../db/client';
import { latestDefinitions, loadTicketState, saveTicketState, type TicketStateRecord } from '../db/queries';
import type { ServiceTargetDefinition } from '../domain/definitions';

export function createDbActivities({ db }: { db: Db }) {
  return {
    /** The service targets in force, with a version the workflow uses to recompile only on change. */
    async loadServiceTargets(): Promise<{ version: string; serviceTargets: ServiceTargetDefinition[] }> {
      const latest = await latestDefinitions(db);
      return { version: String(latest?.version ?? 0), serviceTargets: latest?.body.serviceTargets ?? [] };
    },

    async saveTicketState(rec: TicketStateRecord): Promise<void> {
      await saveTicketState(db, rec);
    },

    async loadTicketState(ticketId: string) {
      return loadTicketState(db, ticketId);
    },
  };
}
