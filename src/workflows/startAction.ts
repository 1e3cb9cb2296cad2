/**
 * A milestone's `startWorkflow` action, for ticket and CI runs alike: a child workflow with the
 * action's id (`slm-action:<key>`), abandoned when the run closes, never started twice.
 */
import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ActionDefinition } from '../domain/definitions';
import { actionWorkflowId } from '../domain/notifications';

type StartWorkflowAction = Extract<ActionDefinition, { startWorkflow: unknown }>['startWorkflow'];

export async function startActionWorkflow(key: string, action: StartWorkflowAction, payload: unknown): Promise<string> {
  const workflowId = actionWorkflowId(key);
  try {
    await startChild(action.workflowType, {
      workflowId,
      ...(action.taskQueue ? { taskQueue: action.taskQueue } : {}),
      args: [action.input ?? payload],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return `workflow ${workflowId} already started`;
    throw err;
  }
  return `started workflow ${workflowId}`;
}
