/** Activities of the `tmf` task queue: outbound HTTP to SNOW. */
import { Context } from '@temporalio/activity';
import { correlationIdFor, type ServiceProblemBody, type ServiceProblemRef } from '../domain/serviceProblem';
import type { TmfClient } from './tmfClient';

export function createTmfActivities({ http }: { http: TmfClient }) {
  return {
    /**
     * Creates the ticket's service problem. TMF656 has no idempotency key, so a retry first looks for
     * a problem carrying this ticket's correlation id: a POST that reached SNOW before the connection
     * dropped is found instead of duplicated.
     */
    async createServiceProblem(ticketId: string, body: ServiceProblemBody): Promise<ServiceProblemRef> {
      if (Context.current().info.attempt > 1) {
        const [existing] = await http.queryProblems(`correlationId=${correlationIdFor(ticketId)}`, 1);
        if (existing) {
          return {
            id: existing.id,
            incidentNumber: typeof existing.number === 'string' ? existing.number : null,
            link: typeof existing.link === 'string' ? existing.link : null,
          };
        }
      }
      return http.createProblem(body);
    },

    async patchServiceProblem(problemId: string, patch: Partial<ServiceProblemBody>): Promise<void> {
      await http.patchProblem(problemId, patch);
    },
  };
}
