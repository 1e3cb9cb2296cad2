/**
 * ticketWorkflow — one long-lived entity workflow per ticket, id `ticket:<ticketId>`.
 *
 * It holds the ticket's latest snapshot and one measurement per attached service target, moves each
 * through the measurement statuses, and sleeps until the earliest due date or the next message. Every
 * change is written to PostgreSQL (slm queue) and mirrored to SNOW as a TMF656 service problem (tmf
 * queue). Due dates are computed here, from pure domain code: 24×7 arithmetic has no time-zone input,
 * so replay cannot drift.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDbActivities } from '../activities/db';
import type { createTmfActivities } from '../activities/tmf';
import { clearedDevice, toAlarm } from '../domain/alarm';
import { compileTarget, type CompiledServiceTarget } from '../domain/definitions';
import {
  applyTicket,
  fireTimers,
  isOpen,
  nextTimer,
  retarget,
  toView,
  type Measurement,
} from '../domain/measurement';
import {
  diffForPatch,
  isActive,
  isClosing,
  toServiceProblem,
  type ServiceProblemBody,
  type ServiceProblemRef,
} from '../domain/serviceProblem';
import { parseTicket, type Ticket } from '../domain/ticket';
import { getTicketStatusQuery, remoteProblemChangedSignal, upsertTicketSignal, type RemoteProblemChange, type TicketStatusView } from './messages';
import { SA } from './searchAttributes';

type DbActivities = ReturnType<typeof createDbActivities>;
type TmfActivities = ReturnType<typeof createTmfActivities>;

export interface TicketWorkflowInput {
  ticketId: string;
  /** Task queue of the HTTP activities. */
  tmfTaskQueue?: string;
  /** Statuses of the ticket for which a service problem is created. */
  activeStates?: string[];
  /** Seconds to wait after everything is final before the run completes. */
  reopenWindowSeconds?: number;
  /** The ticket field whose clearing raises a TMF642 alarm (seed: the device IP). */
  eventField?: string;
  /** Search attributes are upserted only where the server has them registered. */
  searchAttributes?: boolean;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

interface ProblemState extends ServiceProblemRef {
  status: string | null;
  lastSyncAt: number | null;
}

interface CarriedState {
  ticket: Ticket | null;
  measurements: Measurement[];
  problem: ProblemState | null;
  lastSent: ServiceProblemBody | null;
  lastError: string | null;
  pending: Ticket[];
  /** SNOW-side changes not yet applied. */
  pendingRemote?: RemoteProblemChange[];
  /** Alarms raised for this ticket, and device events waiting to be raised. */
  alarms?: RaisedAlarm[];
  pendingAlarms?: { device: string; at: number; ticket: Ticket }[];
}

interface RaisedAlarm {
  id: string;
  externalAlarmId: string;
  device: string;
  raisedAt: string;
}

const DEFAULT_ACTIVE_STATES = ['New', 'Assigned', 'In Progress', 'On Hold'];

export async function ticketWorkflow(input: TicketWorkflowInput): Promise<void> {
  // Short database calls on the worker running this workflow: local activities, so no task-queue
  // round trip through the server for each (a marker in history instead).
  const dbActs = proxyLocalActivities<DbActivities>({
    startToCloseTimeout: '30s',
    localRetryThreshold: '10s',
    retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
  });
  const tmf = proxyActivities<TmfActivities>({
    taskQueue: input.tmfTaskQueue ?? 'tmf',
    // Covers the HTTP timeout plus queueing behind the worker's five slots.
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '5m', backoffCoefficient: 2 },
  });
  const activeStates = input.activeStates ?? DEFAULT_ACTIVE_STATES;
  const eventField = input.eventField ?? 'deviceIp';
  const reopenWindowMs = (input.reopenWindowSeconds ?? 30 * 86400) * 1000;

  const inbox: Ticket[] = [...(input.carried?.pending ?? [])];
  const rejected: string[] = [];
  const remote: RemoteProblemChange[] = [...(input.carried?.pendingRemote ?? [])];
  let targets: { version: string; compiled: Map<string, CompiledServiceTarget> } | null = null;

  // Registered before the first await, so the snapshot delivered with the start is handled at once.
  setHandler(upsertTicketSignal, (raw) => {
    try {
      const ticket = parseTicket(raw);
      if (ticket.id !== input.ticketId) throw new Error(`ticket id "${ticket.id}" does not belong to workflow ticket:${input.ticketId}`);
      inbox.push(ticket);
    } catch (err) {
      // A malformed snapshot is recorded and dropped; it never reaches the measurements.
      const reason = (err as Error).message;
      rejected.push(reason);
      if (rejected.length > 20) rejected.shift();
      log.warn('ticket update rejected', { ticketId: input.ticketId, reason });
    }
  });

  // SNOW's own changes to the problem (from the problem-sync workflow) are recorded on the ticket.
  setHandler(remoteProblemChangedSignal, (change) => {
    remote.push(change);
  });

  const state: CarriedState = input.carried ?? (await restore(dbActs, input.ticketId));

  setHandler(getTicketStatusQuery, (): TicketStatusView => {
    const now = Date.now();
    return {
      ticket: state.ticket,
      measurements: state.measurements.map((m) => toView(m, now)),
      serviceProblem: state.problem && {
        id: state.problem.id,
        incidentNumber: state.problem.incidentNumber,
        link: state.problem.link,
        status: state.problem.status,
        lastSyncAt: state.problem.lastSyncAt === null ? null : new Date(state.problem.lastSyncAt).toISOString(),
        lastError: state.lastError,
      },
      rejectedUpdates: [...rejected],
      alarms: [...(state.alarms ?? [])],
    };
  });

  /**
   * The targets in force and the instant at which this batch of changes applies. The instant is the
   * workflow clock, recorded through the local activity's result: workflow `Date.now()` alone is not
   * guaranteed to replay identically around local activities and task retries, so no business
   * instant is taken from it unrecorded.
   */
  async function loadContext(): Promise<{ now: number; compiled: Map<string, CompiledServiceTarget> }> {
    const defs = await dbActs.loadEngineContext(Date.now(), targets?.version ?? null);
    if (defs.serviceTargets) {
      const compiled = new Map<string, CompiledServiceTarget>();
      for (const t of defs.serviceTargets) {
        // Definitions are validated before they are stored; a target that still fails to compile is
        // skipped here rather than failing the workflow task.
        try {
          compiled.set(t.id, compileTarget(t));
        } catch (err) {
          log.error('service target skipped', { serviceTargetId: t.id, reason: (err as Error).message });
        }
      }
      targets = { version: defs.version, compiled };
    }
    // Set above whenever targets were null: a null known version always gets the targets back.
    return { now: defs.now, compiled: targets!.compiled };
  }

  /** The earliest instant at which time alone changes a measurement (its due date), if any. */
  function earliestTimer(): number | undefined {
    return state.measurements.map(nextTimer).filter((d): d is number => d !== null).sort((a, b) => a - b)[0];
  }

  /** Fires every due timer at its own instant, up to `now`. Returns true when something changed. */
  function fireDue(now: number): boolean {
    let changed = false;
    state.measurements = state.measurements.map((m) => {
      const next = fireTimers(m, now);
      if (next !== m) changed = true;
      return next;
    });
    return changed;
  }

  function applyTicketChange(ticket: Ticket, now: number, compiled: Map<string, CompiledServiceTarget>): void {
    const byTarget = new Map(state.measurements.map((m) => [m.serviceTargetId, m]));
    for (const [id, target] of compiled) {
      const current = byTarget.get(id) ?? null;
      const next = applyTicket(current ? retarget(current, target) : null, target, ticket, now);
      if (next) byTarget.set(id, next);
    }
    state.measurements = [...byTarget.values()];
    state.ticket = ticket;
  }

  /** Records SNOW's view of our problem; our own changes coming back from the poll change nothing. */
  function applyRemoteChange(change: RemoteProblemChange): boolean {
    if (!state.problem || state.problem.id !== change.problemId) return false;
    const next = {
      ...state.problem,
      status: change.status ?? state.problem.status,
      incidentNumber: change.incidentNumber ?? state.problem.incidentNumber,
      link: change.link ?? state.problem.link,
    };
    if (next.status === state.problem.status && next.incidentNumber === state.problem.incidentNumber && next.link === state.problem.link) return false;
    state.problem = next;
    return true;
  }

  /** Raises the pending device alarms, each once, naming the service problem when there is one. */
  async function raiseAlarms(): Promise<void> {
    while (state.pendingAlarms?.length) {
      const { device, at, ticket } = state.pendingAlarms.shift()!;
      const body = toAlarm(ticket, eventField, device, state.problem, at);
      await recordingFailure('alarm', async () => {
        const { id } = await tmf.raiseAlarm(body);
        (state.alarms ??= []).push({ id, externalAlarmId: body.externalAlarmId, device, raisedAt: body.alarmRaisedTime });
      });
    }
  }

  /**
   * The seed's cycle, per change: create the service problem if the ticket needs one, raise pending
   * device alarms (so they can name the problem), then PATCH what changed (including closing).
   */
  async function syncProblem(): Promise<void> {
    const ticket = state.ticket;
    if (!ticket) return;
    const body = toServiceProblem(ticket);
    await recordingFailure('service problem sync', async () => {
      if (state.problem || !isActive(ticket, { activeStates }) || isClosing(ticket)) return;
      const ref = await tmf.createServiceProblem(ticket.id, body);
      state.problem = { ...ref, status: body.status, lastSyncAt: Date.now() };
      state.lastSent = body;
      state.lastError = null;
    });
    await raiseAlarms();
    await recordingFailure('service problem sync', async () => {
      if (!state.problem) return;
      const patch = diffForPatch(state.lastSent, body);
      if (!patch) return;
      await tmf.patchServiceProblem(state.problem.id, patch);
      state.problem = { ...state.problem, status: body.status, lastSyncAt: Date.now() };
      state.lastSent = body;
      state.lastError = null;
    });
  }

  /** Runs a `tmf` call; a final failure (a 4xx from SNOW) is kept on the ticket and the next change tries again. */
  async function recordingFailure(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? err.cause.message : String(err.cause?.message ?? err.message);
      state.lastError = cause;
      log.warn(`${what} failed`, { ticketId: input.ticketId, reason: cause });
    }
  }

  function publishSearchAttributes(): void {
    if (input.searchAttributes === false || !state.ticket) return;
    const due = earliestTimer();
    const breached = state.measurements.some((m) => m.status === 'MissedGoal' || m.status === 'Missed');
    const pairs = [
      { key: SA.ticketId, value: state.ticket.id },
      { key: SA.breached, value: breached },
      { key: SA.nextDue, value: due === undefined ? null : new Date(due) },
      { key: SA.ticketState, value: state.ticket.state ?? null },
      { key: SA.priority, value: state.ticket.priority ?? null },
      { key: SA.problemId, value: state.problem?.id ?? null },
      { key: SA.incidentNumber, value: state.problem?.incidentNumber ?? null },
    ];
    upsertSearchAttributes(pairs);
  }

  async function persist(): Promise<void> {
    if (!state.ticket) return;
    const now = Date.now();
    await dbActs.saveTicketState({
      ticketId: input.ticketId,
      ticket: state.ticket,
      measurements: state.measurements.map((m) => ({ state: m, view: toView(m, now) })),
      problem: state.problem && {
        id: state.problem.id,
        incidentNumber: state.problem.incidentNumber,
        link: state.problem.link,
        status: state.problem.status,
        lastSyncAt: state.problem.lastSyncAt,
      },
      lastError: state.lastError,
    });
  }

  let quietSince: number | null = null;
  for (;;) {
    const now = Date.now();
    const timer = earliestTimer();
    const settled =
      state.ticket !== null &&
      isClosing(state.ticket) &&
      !state.measurements.some(isOpen) &&
      (state.problem === null || state.problem.status === 'resolved' || state.problem.status === 'closed');

    if (settled) quietSince ??= now;
    else quietSince = null;

    // `now` only sizes the wait; instants come from state (a timer fires at the due instant it was
    // set for) or from the recorded context of a batch of changes.
    let waitMs: number | undefined;
    if (timer !== undefined) waitMs = Math.max(1, timer - now);
    else if (quietSince !== null) waitMs = Math.max(1, quietSince + reopenWindowMs - now);

    let changed = false;
    const hasWork = () => inbox.length > 0 || remote.length > 0;
    if (!hasWork()) {
      if (waitMs === undefined) await condition(hasWork);
      else {
        const signalled = await condition(hasWork, waitMs);
        if (!signalled && timer === undefined && quietSince !== null) break; // reopen window passed
        if (!signalled && timer !== undefined) changed = fireDue(timer);
      }
    }

    if (inbox.length > 0) {
      // Timers due at or before the batch's instant fire first, each at its own instant; then the
      // changes apply in order.
      const ctx = await loadContext();
      fireDue(ctx.now);
      while (inbox.length > 0) {
        const ticket = inbox.shift()!;
        const device = clearedDevice(state.ticket, ticket, eventField);
        if (device) (state.pendingAlarms ??= []).push({ device, at: ctx.now, ticket });
        applyTicketChange(ticket, ctx.now, ctx.compiled);
      }
      changed = true;
    }
    while (remote.length > 0) changed = applyRemoteChange(remote.shift()!) || changed;
    if (changed) {
      await syncProblem();
      await persist();
      publishSearchAttributes();
    }

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ticketWorkflow>({ ...input, carried: { ...state, pending: [...inbox], pendingRemote: [...remote] } });
    }
  }
  await condition(allHandlersFinished);
}

async function restore(acts: DbActivities, ticketId: string): Promise<CarriedState> {
  const saved = await acts.loadTicketState(ticketId);
  return {
    ticket: saved?.ticket ?? null,
    measurements: saved?.measurements ?? [],
    problem: saved?.problem ?? null,
    lastSent: saved?.ticket && saved.problem ? toServiceProblem(saved.ticket) : null,
    lastError: saved?.lastError ?? null,
    pending: [],
  };
}
