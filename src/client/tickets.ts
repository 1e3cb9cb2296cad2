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
  RUN_CONTINUING_AS_NEW,
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
  return sendToTicket(ticket.id, () =>
    client.workflow.executeUpdateWithStart(upsertTicketUpdate, { args: [ticket], startWorkflowOperation: startOperation(ticket.id, s, ticketSummary(ticket)) }),
  );
}

/**
 * Why the server may refuse an update that never entered any history, so that sending it again
 * (under a new update id) cannot apply a change twice:
 * - it reached a run in the task where the run continued as new ("wasn't processed by worker");
 * - the ticket already had `history.maxInFlightUpdates` (10 by default) updates in flight, and the
 *   client's own retries of that RESOURCE_EXHAUSTED ran out (many callers changing one ticket at once);
 * - the workflow task it was delivered in failed or timed out before the run accepted it (a worker
 *   under load: "unexpected workflow task failure");
 * - the run closed (continued as new) before accepting it, twice in a row;
 * - the run's validator refused it because the run is about to continue as new (RUN_CONTINUING_AS_NEW).
 * Anything else (a refused change, an update that failed in the workflow) is the caller's.
 */
const RESENDABLE = [
  "wasn't processed by worker",
  'in-flight updates has been reached',
  'due to unexpected workflow task failure',
  'workflow update was aborted',
  RUN_CONTINUING_AS_NEW,
];

/**
 * Updates this process has in flight to one ticket at most. The server admits at most
 * `history.maxInFlightUpdates` (10 by default) per run, and each update it refuses over that limit
 * also drops the run's cached state, and with it the workflow task the run's worker is busy with: under
 * a steady stream of such refusals the ticket's workflow never completes a task again (seen with 25
 * callers on one ticket and a busy worker). So callers in this process queue here instead, leaving
 * room for another process's.
 */
export const UPDATES_IN_FLIGHT_PER_TICKET = 6;

const inFlight = new Map<string, { count: number; waiting: Array<() => void> }>();

async function withTicketSlot<T>(ticketId: string, send: () => Promise<T>): Promise<T> {
  let slot = inFlight.get(ticketId);
  if (!slot) inFlight.set(ticketId, (slot = { count: 0, waiting: [] }));
  if (slot.count >= UPDATES_IN_FLIGHT_PER_TICKET) await new Promise<void>((r) => slot.waiting.push(r));
  else slot.count++;
  try {
    return await send();
  } finally {
    // The slot passes to the next caller waiting, or is given back.
    const next = slot.waiting.shift();
    if (next) next();
    else if (--slot.count === 0) inFlight.delete(ticketId);
  }
}

/**
 * Sends an update to ticket `ticketId` (through this process's slots for it), again while the server
 * refused it for one of the reasons above: at most 40 times, with about half a minute of pauses in
 * all between attempts (each attempt may itself include the Temporal client's own retries).
 */
export async function sendToTicket<T>(ticketId: string, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTicketSlot(ticketId, send);
    } catch (err) {
      const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error }).cause?.message ?? ''}`;
      if (attempt >= 40 || !RESENDABLE.some((reason) => text.includes(reason))) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * attempt) * (0.5 + Math.random())));
    }
  }
}

/**
 * A partial change (RFC 7386 merge patch) to ticket `ticketId`, merged inside its workflow onto the
 * latest snapshot, in order with every other change; starts the workflow when none runs (it then
 * merges onto the ticket saved last, or onto `{id}` for a new one). Returns once measured.
 */
export async function mergeTicketChecked(client: Client, s: EngineSettings, ticketId: string, patch: Record<string, TicketValue>): Promise<UpsertResult> {
  return sendToTicket(ticketId, () =>
    client.workflow.executeUpdateWithStart(mergeTicketUpdate, { args: [patch], startWorkflowOperation: startOperation(ticketId, s, `Ticket ${ticketId}`) }),
  );
}

/**
 * The same merge patch, returning once the workflow accepted it (its validator passed; it is then in
 * history and will be applied in order) instead of once it is measured: the API's 202.
 */
export async function sendPatch(client: Client, s: EngineSettings, ticketId: string, patch: Record<string, TicketValue>): Promise<{ workflowId: string }> {
  await sendToTicket(ticketId, () =>
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
