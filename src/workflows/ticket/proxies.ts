/**
 * The activities a ticket run calls, proxied and grouped by policy. Short database and engine work
 * runs as local activities on the worker hosting the run (a marker in history, no task-queue round
 * trip); SNOW calls and milestone actions go through task queues with their own retries.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createActionActivities } from '../../activities/actions';
import type { createDbActivities } from '../../activities/db';
import type { createEngineActivities } from '../../activities/engine';
import type { createTmfActivities } from '../../activities/tmf';

type DbActivities = ReturnType<typeof createDbActivities>;
type TmfActivities = ReturnType<typeof createTmfActivities>;
type ActionActivities = ReturnType<typeof createActionActivities>;
type EngineActivities = ReturnType<typeof createEngineActivities>;

const localRetry = { startToCloseTimeout: '30s', localRetryThreshold: '10s', retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 } } as const;
const actionRetry = { initialInterval: '2s', maximumInterval: '5m', backoffCoefficient: 2, maximumAttempts: 10 } as const;

export const db = proxyLocalActivities<DbActivities>(localRetry);
export const engine = proxyLocalActivities<EngineActivities>(localRetry);
export const actions = proxyActivities<ActionActivities>({ startToCloseTimeout: '1m', retry: actionRetry });
/**
 * Short POSTs run on this worker: write-backs (nothing without SLM_SOURCE_WEBHOOK) follow every
 * problem creation, and webhook notices every milestone (runs of release 3). As local activities they
 * cost no task-queue round trip and no workflow task of their own; the action log keeps a repeat
 * after a crash from acting twice.
 */
export const localActions = proxyLocalActivities<ActionActivities>({ startToCloseTimeout: '1m', localRetryThreshold: '10s', retry: actionRetry });

/**
 * SNOW calls on the tmf queue; a crashed tmf worker's activities retry after `timeoutSeconds`. A
 * failed call is tried again at most a minute later (the seed's connector worked on a 60 s cycle): with
 * five minutes between tries, one ticket that SNOW refused a few times in a row waited up to five
 * minutes behind tickets that had long been synced, and a ticket waited that long after an outage ended.
 */
export function tmf(taskQueue: string, timeoutSeconds: number) {
  return proxyActivities<TmfActivities>({
    taskQueue,
    startToCloseTimeout: `${timeoutSeconds}s`,
    retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2 },
  });
}

export type { DbActivities };
