/** The caller's side of the problem-sync workflow: start it once, read and change its settings. */
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { getSyncStatusQuery, setSyncSettingsUpdate, type SyncSettings, type SyncStatus } from '../workflows/messages';
import { PROBLEM_SYNC_WORKFLOW_ID } from '../workflows/problemSync';

/** Starts the connector's poll loop unless it already runs; settings of a running one are kept. */
export async function ensureProblemSync(
  client: Client,
  config: Pick<Config, 'SLM_TASK_QUEUE' | 'TMF_TASK_QUEUE' | 'SNOW_SOURCE' | 'SNOW_SYNC_ENABLED' | 'SNOW_SYNC_FREQUENCY'>,
): Promise<void> {
  await client.workflow.start('problemSyncWorkflow', {
    workflowId: PROBLEM_SYNC_WORKFLOW_ID,
    taskQueue: config.SLM_TASK_QUEUE,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ tmfTaskQueue: config.TMF_TASK_QUEUE, source: config.SNOW_SOURCE, settings: { enabled: config.SNOW_SYNC_ENABLED, frequencySeconds: config.SNOW_SYNC_FREQUENCY } }],
  });
}

export async function syncStatus(client: Client): Promise<SyncStatus> {
  return client.workflow.getHandle(PROBLEM_SYNC_WORKFLOW_ID).query(getSyncStatusQuery);
}

/** Changes the settings; a rejected change throws an Error with the validator's reason. */
export async function changeSync(client: Client, patch: Partial<SyncSettings>): Promise<SyncStatus> {
  try {
    return await client.workflow.getHandle(PROBLEM_SYNC_WORKFLOW_ID).executeUpdate(setSyncSettingsUpdate, { args: [patch] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(err.cause?.message ?? err.message, { cause: err });
    throw err;
  }
}
