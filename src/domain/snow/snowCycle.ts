/**
 * The SNOW side of a ticket's life (seed 000, steps 1–5) as decisions over plain state: whether the
 * ticket needs a service problem, what the next PATCH carries, how the problem looks after a call or
 * after SNOW changed it, which fields go back to the ticket's source and under which key. The ticket
 * workflow only carries them out; `slm replay --snow` and the unit tests run the very same functions.
 */
import { closes, eventDevice, remoteReaction, type CompiledConnector } from './connector';
export { ticketCloses } from './connector';
import type { ActionEffect } from '../request/engine';
import { toAlarm, type AlarmBody } from './alarm';
import { closingPatch, diffForPatch, ProblemMappingError, toServiceProblem, type ServiceProblemBody, type ServiceProblemRef } from './serviceProblem';
import { isClosedState, textField, type Ticket, type TicketValue } from '../ticket';

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

// ── the cycle itself ─────────────────────────────────────────────────────────────────────────────

/** What the SNOW side of a ticket holds between cycles (carried by the run, simulated by replay). */
export interface SnowState {
  problem: ProblemState | null;
  /** The body last sent (the next PATCH is its difference to the new one). */
  lastSent: ServiceProblemBody | null;
  lastError: string | null;
  /** The closure PATCH went out: the ticket is no longer synced (seed step 3). */
  syncClosed?: boolean;
  /** Device events waiting to be raised as alarms, and the alarms raised. */
  pendingAlarms?: { device: string; at: number; ticket: Ticket }[];
  alarms?: { id: string; externalAlarmId: string; device: string; raisedAt: string }[];
}

/** The rules in force for the cycle. */
export interface SnowSettings {
  connector: CompiledConnector;
  activeStates: readonly string[];
  eventField: string;
}

/**
 * The rules in force: the definitions' connector, else what a run of an earlier release was started
 * with (`frozen`), else the seed's defaults.
 */
export function snowSettings(connector: CompiledConnector, frozen: { activeStates?: string[] | undefined; eventField?: string | undefined } = {}): SnowSettings {
  return {
    connector,
    activeStates: connector.activeStates ?? frozen.activeStates ?? DEFAULT_ACTIVE_STATES,
    eventField: connector.eventField ?? frozen.eventField ?? DEFAULT_EVENT_FIELD,
  };
}

/** A device event between two snapshots (the connector's event rule), queued for the next cycle. */
export function noteDeviceEvent(s: SnowState, k: SnowSettings, previous: Ticket | null, next: Ticket, at: number): void {
  if (s.syncClosed) return;
  const device = eventDevice(k.connector, previous, next, k.eventField);
  if (device) (s.pendingAlarms ??= []).push({ device, at, ticket: next });
}

/** A call the cycle asks its host to make; the host answers with the outcome. */
export type SnowRequest =
  | { kind: 'create'; ticketId: string; body: ServiceProblemBody }
  | { kind: 'alarm'; body: AlarmBody }
  | { kind: 'patch'; problemId: string; patch: Record<string, unknown> }
  /** Fields to write back to the ticket's source (no answer needed). */
  | { kind: 'writeBack'; key: string; fields: Record<string, TicketValue> };

export type SnowAnswer = { ok: true; ref?: ServiceProblemRef; id?: string } | { ok: false; error: string };

/**
 * The seed's cycle for one batch, as a generator: create the service problem if the ticket needs one
 * (and write its id, incident number and link back), raise pending device alarms (so they can name
 * the problem), then PATCH what changed; when the closure condition holds, the PATCH resolves the
 * problem with the resolution note and the ticket is no longer synced. Each call is yielded to the
 * host — the ticket workflow makes it through the tmf activities, `slm replay --decisions` answers
 * as SNOW would — so the order and every decision exist once. A failed call (a final 4xx) is kept
 * as `lastError`; the next batch tries again. `at` is the batch's instant.
 */
export function* snowCycle(s: SnowState, ticket: Ticket | null, k: SnowSettings, at: number): Generator<SnowRequest, void, SnowAnswer | undefined> {
  if (!ticket || s.syncClosed) return;
  let body: ServiceProblemBody;
  try {
    body = toServiceProblem(ticket, k.connector);
  } catch (err) {
    // The ticket is fine; what SNOW would get is not: the problem carries the error until a change
    // (or a definitions fix) makes the ticket mappable.
    if (!(err instanceof ProblemMappingError)) throw err;
    s.lastError = `service problem not sent: ${err.message}`;
    return;
  }
  // An active ticket gets its problem even when it arrives already meeting the closure condition:
  // SNOW then holds the record, resolved with its note just below.
  if (needsProblem(ticket, s.problem, k.activeStates)) {
    const a = yield { kind: 'create', ticketId: ticket.id, body };
    if (a?.ok && a.ref) {
      s.problem = createdProblem(a.ref, body, at);
      s.lastSent = body;
      s.lastError = null;
      yield { kind: 'writeBack', key: writeBackKey.problem(ticket.id, a.ref.id), fields: problemWriteBackFields(a.ref) };
    } else if (a && !a.ok) s.lastError = a.error;
  }
  while (s.pendingAlarms?.length) {
    const { device, at: when, ticket: t } = s.pendingAlarms.shift()!;
    const alarm = toAlarm(t, k.eventField, device, s.problem, when);
    const a = yield { kind: 'alarm', body: alarm };
    if (a?.ok && a.id !== undefined) (s.alarms ??= []).push({ id: a.id, externalAlarmId: alarm.externalAlarmId, device, raisedAt: alarm.alarmRaisedTime });
    else if (a && !a.ok) s.lastError = a.error;
  }
  if (!s.problem) return;
  const closing = closes(k.connector, ticket);
  const patch = nextPatch(k.connector, ticket, s.lastSent, body, at);
  if (!patch) return;
  const a = yield { kind: 'patch', problemId: s.problem.id, patch };
  if (a && !a.ok) {
    s.lastError = a.error;
    return;
  }
  s.problem = patchedProblem(s.problem, body, closing, at);
  s.lastSent = body;
  s.lastError = null;
  if (closing) s.syncClosed = true;
}
