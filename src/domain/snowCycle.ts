/**
 * The SNOW side of a ticket's life (seed 000, steps 1–5) as decisions over plain state: whether the
 * ticket needs a service problem, what the next PATCH carries, how the problem looks after a call or
 * after SNOW changed it, which fields go back to the ticket's source and under which key. The ticket
 * workflow only carries them out; `slm replay --snow` and the unit tests run the very same functions.
 */
import { closes, remoteReaction, type CompiledConnector } from './connector';
export { ticketCloses } from './connector';
import type { ActionEffect } from './engine';
import { closingPatch, diffForPatch, type ServiceProblemBody, type ServiceProblemRef } from './serviceProblem';
import { isClosedState, textField, type Ticket, type TicketValue } from './ticket';

/** The ticket's service problem as the workflow knows it. */
export interface ProblemState extends ServiceProblemRef {
  status: string | null;
  /** When we last sent SNOW a change (the batch's instant). */
  lastSyncAt: number | null;
}

/** SNOW's view of one of our problems, forwarded by the problem-sync workflow. */
export interface RemoteChange {
  problemId: string;
  status: string | null;
  incidentNumber: string | null;
  link: string | null;
  updatedOn: string;
}

/** Statuses of the ticket for which a service problem is created (the seed's). */
export const DEFAULT_ACTIVE_STATES: readonly string[] = ['New', 'Assigned', 'In Progress', 'On Hold'];
/** The ticket field whose clearing raises a TMF642 alarm (the seed's device IP). */
export const DEFAULT_EVENT_FIELD = 'deviceIp';

/** Whether the ticket needs a service problem now: none yet, an active state, not already over by its state. */
export function needsProblem(ticket: Ticket, problem: ProblemState | null, activeStates: readonly string[]): boolean {
  if (problem) return false;
  const state = textField(ticket, 'state');
  return state !== null && activeStates.includes(state) && !isClosedState(ticket);
}

/** The problem just created from `body` at `at`. */
export function createdProblem(ref: ServiceProblemRef, body: ServiceProblemBody, at: number): ProblemState {
  return { ...ref, status: body.status, lastSyncAt: at };
}

/**
 * The PATCH that brings SNOW from what we last sent to `body`; on closure it also resolves the problem
 * with the resolution note. Null when there is nothing to send.
 */
export function nextPatch(c: CompiledConnector, ticket: Ticket, lastSent: ServiceProblemBody | null, body: ServiceProblemBody, at: number): Record<string, unknown> | null {
  const diff = diffForPatch(lastSent, body);
  if (!closes(c, ticket)) return diff;
  return { ...(diff ?? {}), ...closingPatch(ticket, c, at) };
}

/** The problem after a PATCH sent at `at` (resolved when it closed it). */
export function patchedProblem(problem: ProblemState, body: ServiceProblemBody, closing: boolean, at: number): ProblemState {
  return { ...problem, status: closing ? 'resolved' : body.status, lastSyncAt: at };
}

/** The problem as SNOW now has it; null when the change is not news (our own change coming back from the poll). */
export function remoteUpdate(problem: ProblemState | null, change: RemoteChange): ProblemState | null {
  if (!problem || problem.id !== change.problemId) return null;
  const next = {
    ...problem,
    status: change.status ?? problem.status,
    incidentNumber: change.incidentNumber ?? problem.incidentNumber,
    link: change.link ?? problem.link,
  };
  if (next.status === problem.status && next.incidentNumber === problem.incidentNumber && next.link === problem.link) return null;
  return next;
}

/** The ticket fields the connector's `onRemoteChange` rules set for SNOW's change; null when none would change. */
export function remoteFields(c: CompiledConnector, ticket: Ticket, problem: ProblemState): Record<string, TicketValue> | null {
  const fields = remoteReaction(c, ticket, { id: problem.id, status: problem.status, incidentNumber: problem.incidentNumber, link: problem.link });
  if (!fields || !Object.entries(fields).some(([k, v]) => JSON.stringify(ticket[k]) !== JSON.stringify(v))) return null;
  return fields;
}

/** The fields written back to the ticket's source once its problem exists (seed step 2). */
export function problemWriteBackFields(ref: ServiceProblemRef): Record<string, TicketValue> {
  return { problemId: ref.id, incidentNumber: ref.incidentNumber, incidentLink: ref.link };
}

/** Idempotency keys of the connector's write-backs: one per problem, one per remote change. */
export const writeBackKey = {
  problem: (ticketId: string, problemId: string) => `${ticketId}|problem|${problemId}`,
  remote: (ticketId: string, updatedOn: string) => `${ticketId}|remote|${updatedOn}`,
};

/** A write-back as an action for the action runner (so it runs in order with milestone actions). */
export function writeBackAction(key: string, ticket: Ticket, fields: Record<string, TicketValue>, at: number): ActionEffect {
  return { key, ticketId: ticket.id, serviceTargetId: '', milestone: 'connector', occurrence: 0, actionIndex: 0, dueAt: at, firedAt: at, action: { setField: fields }, ticket };
}
