/**
 * problemSyncWorkflow — one per connector, id `problem-sync`: every sync frequency (10 s – 24 h,
 * default 60 s) it asks SNOW for the service problems changed since the last sync and signals each
 * one's ticket workflow (seed 000, session 101). It can be paused, resumed and re-timed while it
 * runs; a new frequency takes effect at once, not after the current wait.
 */
import { ActivityFailure, allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createTmfActivities } from '../activities/tmf';
import { advanceCursor, sysTime, ticketIdOf, type SyncCursor } from '../domain/snow/problemSync';
import { ticketWorkflowId } from '../domain/ticket';
import { getSyncStatusQuery, remoteProblemChangedSignal, setSyncSettingsUpdate, SYNC_FREQUENCY_RANGE, type SyncSettings, type SyncStatus } from './messages';

type TmfActivities = ReturnType<typeof createTmfActivities>;

export const PROBLEM_SYNC_WORKFLOW_ID = 'problem-sync';

export interface ProblemSyncInput {
  tmfTaskQueue?: string;
  /** `u_source` of our problems in SNOW (seed: dataminer). */
  source?: string;
  settings?: Partial<SyncSettings>;
  /** Carried across continue-as-new. */
  carried?: { cursor: SyncCursor; status: SyncStatus };
}

export async function problemSyncWorkflow(input: ProblemSyncInput): Promise<void> {
  const tmf = proxyActivities<TmfActivities>({
    taskQueue: input.tmfTaskQueue ?? 'tmf',
    startToCloseTimeout: '5m',
    heartbeatTimeout: '1m',
    // A poll that keeps failing is retried by the next cycle, not piled up here.
    retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 3 },
  });
  const source = input.source ?? 'dataminer';
  const status: SyncStatus = input.carried?.status ?? {
    enabled: input.settings?.enabled ?? true,
    frequencySeconds: input.settings?.frequencySeconds ?? 60,
    lastSyncAt: sysTime(Date.now()),
    lastPollAt: null,
    lastError: null,
    polls: 0,
    changesForwarded: 0,
  };
  let cursor: SyncCursor = input.carried?.cursor ?? { since: status.lastSyncAt, seenAtBoundary: [] };
  let settingsChanged = false;

  setHandler(getSyncStatusQuery, () => ({ ...status }));
  setHandler(
    setSyncSettingsUpdate,
    (patch) => {
      if (patch.enabled !== undefined) status.enabled = patch.enabled;
      if (patch.frequencySeconds !== undefined) status.frequencySeconds = patch.frequencySeconds;
      settingsChanged = true;
      return { ...status };
    },
    {
      validator: (patch: Partial<SyncSettings>) => {
        const f = patch.frequencySeconds;
        if (f !== undefined && (!Number.isInteger(f) || f < SYNC_FREQUENCY_RANGE.min || f > SYNC_FREQUENCY_RANGE.max)) {
          throw new Error(`sync frequency must be a whole number of seconds from ${SYNC_FREQUENCY_RANGE.min} to ${SYNC_FREQUENCY_RANGE.max}, got ${String(f)}`);
        }
        if (patch.enabled !== undefined && typeof patch.enabled !== 'boolean') throw new Error('enabled must be true or false');
      },
    },
  );

  for (;;) {
    settingsChanged = false;
    const woke = status.enabled ? await condition(() => settingsChanged, status.frequencySeconds * 1000) : await condition(() => settingsChanged);
    if (woke) continue; // new settings: wait again with them

    try {
      const polled = await tmf.pollChangedProblems(source, cursor.since);
      const next = advanceCursor(cursor, polled);
      for (const p of next.fresh) {
        const ticketId = ticketIdOf(p);
        if (!ticketId) continue;
        try {
          await getExternalWorkflowHandle(ticketWorkflowId(ticketId)).signal(remoteProblemChangedSignal, {
            problemId: p.id,
            status: p.status,
            incidentNumber: p.number,
            link: p.link,
            updatedOn: p.updatedOn,
          });
          status.changesForwarded += 1;
        } catch (err) {
          // The ticket's workflow has completed (closed and past its reopen window): nothing to tell.
          log.info('remote change for a ticket without a running workflow', { ticketId, reason: (err as Error).message });
        }
      }
      cursor = next.cursor;
      status.lastSyncAt = cursor.since;
      status.lastError = null;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      status.lastError = err.cause?.message ?? err.message;
      log.warn('problem sync poll failed', { reason: status.lastError });
    }
    status.polls += 1;
    status.lastPollAt = new Date(Date.now()).toISOString();

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof problemSyncWorkflow>({ ...input, carried: { cursor, status } });
    }
  }
}
