/** The caller's side of CI workflows (DESIGN §4.7): signal-with-start on `ci:<id>`, and status queries. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ciWorkflowId, type Ci } from '../domain/ci/ci';
import { CI_RUN_RELEASE, getCiStatusQuery, kpiReadingsSignal, upsertCiSignal, type CiStatusView, type KpiForward } from '../workflows/messages';
import { SA } from '../workflows/searchAttributes';
import type { CiWorkflowInput } from '../workflows/ci/workflow';
import type { EngineSettings } from './tickets';

function ciInput(ciId: string, s: EngineSettings): CiWorkflowInput {
  return { ciId, release: CI_RUN_RELEASE, tmfTaskQueue: s.TMF_TASK_QUEUE, searchAttributes: s.searchAttributes ?? true };
}

const start = (ciId: string, s: EngineSettings) => ({
  workflowId: ciWorkflowId(ciId),
  taskQueue: s.SLM_TASK_QUEUE,
  args: [ciInput(ciId, s)] as [CiWorkflowInput],
  staticSummary: `CI ${ciId}`,
  ...(s.searchAttributes === false ? {} : { typedSearchAttributes: [{ key: SA.ciId, value: ciId }] }),
});

/** Sends a validated CI snapshot to its workflow, starting it when none runs. */
export async function signalCi(client: Client, s: EngineSettings, ci: Ci): Promise<{ workflowId: string }> {
  await client.workflow.signalWithStart('ciWorkflow', { ...start(ci.id, s), signal: upsertCiSignal, signalArgs: [ci] });
  return { workflowId: ciWorkflowId(ci.id) };
}

/** Sends reduced KPI readings to the CI's workflow, starting it when none runs (a sample may come before the CI). */
export async function signalKpis(client: Client, s: EngineSettings, ciId: string, forwards: KpiForward[]): Promise<void> {
  await client.workflow.signalWithStart('ciWorkflow', { ...start(ciId, s), signal: kpiReadingsSignal, signalArgs: [forwards] });
}

/** The live view of a CI from its workflow, or null when no run exists. */
export async function queryCi(client: Client, ciId: string): Promise<CiStatusView | null> {
  try {
    return await client.workflow.getHandle(ciWorkflowId(ciId)).query(getCiStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
