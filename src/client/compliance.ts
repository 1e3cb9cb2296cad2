/** The compliance run from outside (DESIGN §4.8): woken after definitions change or a recompute is asked for, and its status. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { COMPLIANCE_WORKFLOW_ID, COMPLIANCE_WORKFLOW_TASK_TIMEOUT, complianceChangedSignal, getComplianceStatusQuery, type ComplianceRunStatus } from '../workflows/messages';

/** The signal-with-start that wakes the compliance run (starting it when none runs), for every caller. */
export function complianceWake(taskQueue: string) {
  return {
    workflowId: COMPLIANCE_WORKFLOW_ID,
    taskQueue,
    args: [{}] as [object],
    signal: complianceChangedSignal,
    signalArgs: [] as [],
    workflowTaskTimeout: COMPLIANCE_WORKFLOW_TASK_TIMEOUT,
  };
}

/** Signals the compliance run (starting it when none runs) to count what changed. */
export async function wakeCompliance(client: Client, taskQueue: string): Promise<void> {
  await client.workflow.signalWithStart('complianceWorkflow', complianceWake(taskQueue));
}

export async function complianceRunStatus(client: Client): Promise<ComplianceRunStatus | null> {
  try {
    return await client.workflow.getHandle(COMPLIANCE_WORKFLOW_ID).query(getComplianceStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
