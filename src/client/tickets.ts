/**
 * The caller's side of ticket workflows: signal-with-start on `ticket:<id>`, status queries and the
 * database-backed views. Used by the CLI, tests and benchmarks alike.
 */
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { ticketSummary } from '../domain/ticketDetails';
import { ticketWorkflowId, type Ticket, type TicketValue } from '../domain/ticket';
import {
  definitionsChangedSignal,
  getTicketStatusQuery,
  mergeTicketUpdate,
  TICKET_RUN_RELEASE,
  upsertTicketSignal,
  upsertTicketUpdate,
  type TicketStatusView,
  type UpsertResult,
} from '../workflows/messages';
import { SA } from '../workflows/searchAttributes';
import type { TicketWorkflowInput } from '../workflows/ticket';

/**
 * Where a caller starts ticket runs. Nothing here changes how a run behaves: that is the definitions'
 * (active states, event field, reopen window) and the workers' configuration (timeouts).
 */
export type EngineSettings = Pick<Config, 'SLM_TASK_QUEUE' | 'TMF_TASK_QUEUE'> & {
  /** False on servers that do not have the search attributes registered (the time-skipping server). */
  searchAttributes?: boolean;
};

export function workflowInput(ticketId: string, s: EngineSettings): TicketWorkflowInput {
  return { ticketId, tmfTaskQueue: s.TMF_TASK_QUEUE, searchAttributes: s.searchAttributes ?? true, release: TICKET_RUN_RELEASE };
}

/**
 * Signals the ticket's workflow with its new snapshot, starting it if needed (fire and forget: a
 * malformed snapshot is recorded as refused by the workflow). Callers validate first (`src/app`
 * does); the ticket is not parsed again here. Returns the workflow id.
 */
export async function upsertTicket(client: Client, s: EngineSettings, ticket: Ticket): Promise<{ workflowId: string; ticket: Ticket }> {
  const workflowId = ticketWorkflowId(ticket.id);
  await client.workflow.signalWithStart('ticketWorkflow', {
    workflowId,
    taskQueue: s.SLM_TASK_QUEUE,
    args: [workflowInput(ticket.id, s)],
    signal: upsertTicketSignal,
    signalArgs: [ticket],
    staticSummary: ticketSummary(ticket),
    ...(s.searchAttributes === false ? {} : { typedSearchAttributes: [{ key: SA.ticketId, value: ticket.id }] }),
  });
  return { workflowId, ticket };
}

/**
 * Sends the snapshot as an update (with start): the workflow's validator rejects a malformed change
 * before it reaches history, and the call returns once the change is measured.
 */
export async function upsertTicketChecked(client: Client, s: EngineSettings, ticket: Ticket): Promise<UpsertResult> {
  return resendUnprocessed(() =>
    client.workflow.executeUpdateWithStart(upsertTicketUpdate, { args: [ticket], startWorkflowOperation: startOperation(ticket.id, s, ticketSummary(ticket)) }),
  );
}

/**
 * An update that reaches a run in the task where it continues as new is refused by the server
 * ("wasn't processed by worker"): it was never accepted, so nothing of it is in any history, and it
 * is sent again (to the new run). Anything else is the caller's.
 */
async function resendUnprocessed<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error }).cause?.message ?? ''}`;
      if (attempt >= 10 || !/wasn't processed by worker/.test(text)) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/**
 * A partial change (RFC 7386 merge patch) to ticket `ticketId`, merged inside its workflow onto the
 * latest snapshot, in order with every other change; starts the workflow when none runs (it then
 * merges onto the ticket saved last, or onto `{id}` for a new one). Returns once measured.
 */
export async function mergeTicketChecked(client: Client, s: EngineSettings, ticketId: string, patch: Record<string, TicketValue>): Promise<UpsertResult> {
  return resendUnprocessed(() =>
    client.workflow.executeUpdateWithStart(mergeTicketUpdate, { args: [patch], startWorkflowOperation: startOperation(ticketId, s, `Ticket ${ticketId}`) }),
  );
}

/**
 * The same merge patch, returning once the workflow accepted it (its validator passed; it is then in
 * history and will be applied in order) instead of once it is measured: the API's 202.
 */
export async function sendPatch(client: Client, s: EngineSettings, ticketId: string, patch: Record<string, TicketValue>): Promise<{ workflowId: string }> {
  await resendUnprocessed(() =>
    client.workflow.startUpdateWithStart(mergeTicketUpdate, {
      args: [patch],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
      startWorkflowOperation: startOperation(ticketId, s, `Ticket ${ticketId}`),
    }),
  );
  return { workflowId: ticketWorkflowId(ticketId) };
}

function startOperation(ticketId: string, s: EngineSettings, summary: string) {
  return new WithStartWorkflowOperation('ticketWorkflow', {
    workflowId: ticketWorkflowId(ticketId),
    taskQueue: s.SLM_TASK_QUEUE,
    args: [workflowInput(ticketId, s)],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: summary,
    ...(s.searchAttributes === false ? {} : { typedSearchAttributes: [{ key: SA.ticketId, value: ticketId }] }),
  });
}

/** Tells every running ticket workflow that new definitions are in force. Returns how many were told. */
export async function notifyDefinitionsChanged(client: Client, version: string): Promise<{ tickets: number; cis: number }> {
  const told = { tickets: 0, cis: 0 };
  const pending: Promise<void>[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType IN ('ticketWorkflow', 'ciWorkflow') AND ExecutionStatus = 'Running'` })) {
    const kind = wf.type === 'ciWorkflow' ? 'cis' : 'tickets';
    pending.push(
      client.workflow
        .getHandle(wf.workflowId)
        .signal(definitionsChangedSignal, version)
        .then(
          () => void told[kind]++,
          () => undefined, // completed meanwhile: its next run reads the definitions anyway
        ),
    );
    if (pending.length >= 32) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return told;
}

/** The live view of a ticket from its workflow, or null when no run exists. */
export async function queryTicket(client: Client, ticketId: string): Promise<TicketStatusView | null> {
  try {
    return await client.workflow.getHandle(ticketWorkflowId(ticketId)).query(getTicketStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
