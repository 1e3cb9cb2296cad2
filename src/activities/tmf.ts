/** Activities of the `tmf` task queue: outbound HTTP to SNOW. */
import { Context } from '@temporalio/activity';
import type { AlarmBody } from '../domain/snow/alarm';
import type { ChangedProblem } from '../domain/snow/problemSync';
import { correlationIdFor, type ServiceProblemBody, type ServiceProblemRef } from '../domain/snow/serviceProblem';
import { refOf, type SnowClient } from '../clients/tmf';

export function createTmfActivities({ http }: { http: SnowClient }) {
  return {
    /**
     * Creates the ticket's service problem. TMF656 has no idempotency key, so a retry first looks for
     * a problem carrying this ticket's correlation id: a POST that reached SNOW before the connection
     * dropped is found instead of duplicated.
     */
    async createServiceProblem(ticketId: string, body: ServiceProblemBody): Promise<ServiceProblemRef> {
      if (Context.current().info.attempt > 1) {
        const [existing] = await http.queryProblems(`correlationId=${correlationIdFor(ticketId)}`, 1);
        if (existing) return refOf(existing);
      }
      return http.createProblem(body);
    },

    async patchServiceProblem(problemId: string, patch: Partial<ServiceProblemBody>): Promise<void> {
      await http.patchProblem(problemId, patch);
    },

    /** Raises a TMF642 alarm once: a retry first looks for the alarm its externalAlarmId names. */
    async raiseAlarm(body: AlarmBody): Promise<{ id: string }> {
      if (Context.current().info.attempt > 1) {
        const [existing] = await http.findAlarms(body.externalAlarmId);
        if (existing) return { id: String(existing.id) };
      }
      const created = await http.createAlarm(body);
      return { id: String(created.id) };
    },

    /** Every problem of `source` updated at or after `since` (ServiceNow time), all pages, oldest first. */
    async pollChangedProblems(source: string, since: string): Promise<ChangedProblem[]> {
      const query = `u_source=${source}^sys_updated_on>=${since}^ORDERBYsys_updated_on`;
      const out: ChangedProblem[] = [];
      const pageSize = 100;
      for (let offset = 0; ; offset += pageSize) {
        const page = await http.queryProblems(query, pageSize, offset);
        for (const p of page) {
          out.push({
            id: p.id,
            correlationId: typeof p.correlationId === 'string' ? p.correlationId : null,
            status: typeof p.status === 'string' ? p.status : null,
            number: typeof p.number === 'string' ? p.number : null,
            link: typeof p.link === 'string' ? p.link : null,
            updatedOn: typeof p.sys_updated_on === 'string' ? p.sys_updated_on : since,
          });
        }
        if (page.length < pageSize) return out;
        Context.current().heartbeat(offset);
      }
    },
  };
}
