/**
 * The caller's side of ticket workflows: signal-with-start on `ticket:<id>`, status queries and the
 * database-backed views. Used by the CLI, tests and benchmarks alike.
 */
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { ticketSummary } from '../domain/ticketDetails';
import { parseTicket, parseTicketPatch, ticketWorkflowId, type Ticket } from '../domain/ticket';
import {
  definitionsChangedSignal,
  getTicketStatusQuery,
  mergeTicketUpdate,
  upsertTicketSignal,
  upsertTicketUpdate,
  type TicketStatusView,
  type UpsertResult,
} from '../workflows/messages';
import { SA } from '../workflows/searchAttributes';
import type { TicketWorkflowInput } from '../workflows/ticket';

export type EngineSettings = Pick<Config, 'SLM_TASK_QUEUE' | 'TMF_TASK_QUEUE' | 'SNOW_ACTIVE_STATES' | 'SLM_REOPEN_WINDOW' | 'SNOW_EVENT_FIELD'> &
  Partial<Pick<Config, 'SNOW_HTTP_TIMEOUT'>> & {
  /** False on servers that do not have the search attributes registered (the time-skipping server). */
  searchAttributes?: boolean;
};

export function workflowInput(ticketId: string, s: EngineSettings): TicketWorkflowInput {
  return {
    ticketId,
    tmfTaskQueue: s.TMF_TASK_QUEUE,
    activeStates: s.SNOW_ACTIVE_STATES,
    reopenWindowSeconds: s.SLM_REOPEN_WINDOW,
    eventField: s.SNOW_EVENT_FIELD,
    searchAttributes: s.searchAttributes ?? true,
    // A tmf activity makes at most two requests (a look-up, then the call itself).
    ...(s.SNOW_HTTP_TIMEOUT ? { tmfTimeoutSeconds: 2 * s.SNOW_HTTP_TIMEOUT + 10 } : {}),
  };
}

/** Validates the ticket, then signals its workflow, starting it if needed. Returns the workflow id. */
export async function upsertTicket(client: Client, s: EngineSettings, raw: unknown): Promise<{ workflowId: string; ticket: Ticket }> {
  const ticket = parseTicket(raw);
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
 * Validates the ticket, then sends it as an update (with start): the workflow's validator rejects a
 * malformed change before it reaches history, and the call returns once the change is measured.
 */
export async function upsertTicketChecked(client: Client, s: EngineSettings, raw: unknown): Promise<UpsertResult> {
  const ticket = parseTicket(raw);
  return resendUnprocessed(() => client.workflow.executeUpdateWithStart(upsertTicketUpdate, { args: [ticket], startWorkflowOperation: startOperation(ticket.id, s, ticketSummary(ticket)) }));
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
      const text = `${(err as Error)?.message ?? ''} ${((err as { cause?: Error }).cause)?.message ?? ''}`;
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
export async function mergeTicketChecked(client: Client, s: EngineSettings, ticketId: string, raw: unknown): Promise<UpsertResult> {
  const patch = parseTicketPatch(raw, ticketId);
  const id = parseTicket({ id: ticketId }).id;
  return resendUnprocessed(() => client.workflow.executeUpdateWithStart(mergeTicketUpdate, { args: [patch], startWorkflowOperation: startOperation(id, s, `Ticket ${id}`) }));
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
export async function notifyDefinitionsChanged(client: Client, version: string): Promise<number> {
  let told = 0;
  const pending: Promise<void>[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'ticketWorkflow' AND ExecutionStatus = 'Running'` })) {
    pending.push(
      client.workflow
        .getHandle(wf.workflowId)
        .signal(definitionsChangedSignal, version)
        .then(
          () => void told++,
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
