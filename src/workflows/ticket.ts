/**
 * ticketWorkflow — one long-lived entity workflow per ticket, id `ticket:<ticketId>`.
 *
 * It holds the ticket's latest snapshot and every measurement on it (the engine state of
 * `domain/engine.ts`, the same reducer `slm replay` runs), sleeps until the earliest due instant or
 * milestone, wakes on ticket changes and definition edits, runs milestone actions, writes everything
 * to PostgreSQL (slm queue) and mirrors the ticket to SNOW as a TMF656 service problem (tmf queue).
 *
 * Business time: the workflow never compiles a calendar (that reads time-zone data, which changes
 * with Node upgrades). A local activity compiles the window of open intervals a computation needs and
 * the result is recorded in history; the engine computes on it and, when a computation leaves the
 * window, the step is re-run from a copy of the state after the window is widened. A replay therefore
 * reproduces every due instant from recorded numbers.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActionActivities } from '../activities/actions';
import type { createDbActivities } from '../activities/db';
import type { createEngineActivities } from '../activities/engine';
import type { createTmfActivities } from '../activities/tmf';
import { milestoneAlarm, toAlarm } from '../domain/alarm';
import { closes, DEFAULT_CONNECTOR, eventDevice, remoteReaction, type CompiledConnector } from '../domain/connector';
import { BusinessCalendar, WindowExceededError, type CalendarWindow } from '../domain/calendar';
import { compiledDefinitionsOf, type CompiledDefinitions } from '../domain/definitions';
import {
  advance,
  applyDefinitionsChange,
  applyTicketChange,
  engineEnv,
  newEngineState,
  nextWake,
  recordActionResult,
  targetKey,
  type ActionEffect,
  type EngineEnv,
  type TicketEngineState,
} from '../domain/engine';
import { isBreached, isOpen, nextDueOf, normalizeMeasurement, toView, type ActionRecord, type MeasurementView } from '../domain/measurement';
import {
  closingPatch,
  diffForPatch,
  isActive,
  isClosedState,
  isClosing,
  ProblemMappingError,
  toServiceProblem,
  type ServiceProblemBody,
  type ServiceProblemRef,
} from '../domain/serviceProblem';
import { ticketDetails } from '../domain/ticketDetails';
import { mergePatch, parseTicket, parseTicketPatch, priorityRank, textField, type Ticket, type TicketValue } from '../domain/ticket';
import {
  definitionsChangedSignal,
  getTicketStatusQuery,
  mergeTicketUpdate,
  remoteProblemChangedSignal,
  upsertTicketSignal,
  upsertTicketUpdate,
  type RejectedChange,
  type RemoteProblemChange,
  type TicketStatusView,
} from './messages';
import { SA } from './searchAttributes';

type DbActivities = ReturnType<typeof createDbActivities>;
type TmfActivities = ReturnType<typeof createTmfActivities>;
type ActionActivities = ReturnType<typeof createActionActivities>;
type EngineActivities = ReturnType<typeof createEngineActivities>;

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
  /** Start-to-close timeout of one tmf activity: after a worker crash, its activities retry after this. */
  tmfTimeoutSeconds?: number;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

interface ProblemState extends ServiceProblemRef {
  status: string | null;
  lastSyncAt: number | null;
}

interface CarriedState {
  engine: TicketEngineState;
  problem: ProblemState | null;
  lastSent: ServiceProblemBody | null;
  lastError: string | null;
  /** Full snapshots not applied yet (runs before merge patches existed carried only these). */
  pending: Ticket[];
  /** Changes not applied yet, snapshots and merge patches in order (replaces `pending` when present). */
  pendingChanges?: Change[];
  /** Changes refused, newest last (at most 20). */
  rejected?: RejectedChange[];
  /** SNOW-side changes not yet applied. */
  pendingRemote?: RemoteProblemChange[];
  /** Alarms raised for this ticket, and device events waiting to be raised. */
  alarms?: RaisedAlarm[];
  pendingAlarms?: { device: string; at: number; ticket: Ticket }[];
  /** Milestone actions not carried out yet (their keys make a repeat harmless). */
  actions?: ActionEffect[];
  /** Recorded calendar windows, by `<definitions version>:<calendar id>`. */
  windows?: Record<string, CalendarWindow>;
  /** A definitions change seen but not applied yet. */
  definitionsDirty?: boolean;
  /** The problem was closed by the closure condition: the ticket is no longer synced (seed step 3). */
  syncClosed?: boolean;
}

/** One change waiting in the inbox: a full snapshot, or a merge patch applied to the latest snapshot. */
type Change = { ticket: Ticket; seq?: number } | { patch: Record<string, TicketValue>; seq?: number };

interface RaisedAlarm {
  id: string;
  externalAlarmId: string;
  device: string;
  raisedAt: string;
}

interface LoadedDefinitions {
  version: string;
  compiled: CompiledDefinitions;
}

const DEFAULT_ACTIVE_STATES = ['New', 'Assigned', 'In Progress', 'On Hold'];
/** A run that never received a ticket (its only change was refused) completes after this. */
const EMPTY_RUN_MS = 60_000;
const DAY_MS = 86_400_000;
const EMPTY_WINDOW: CalendarWindow = { from: 0, to: 0, starts: [], ends: [], offsets: [] };

export async function ticketWorkflow(input: TicketWorkflowInput): Promise<void> {
  // Short database calls on the worker running this workflow: local activities, so no task-queue
  // round trip through the server for each (a marker in history instead).
  const localRetry = { startToCloseTimeout: '30s', localRetryThreshold: '10s', retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 } } as const;
  const dbActs = proxyLocalActivities<DbActivities>(localRetry);
  const engineActs = proxyLocalActivities<EngineActivities>(localRetry);
  const tmf = proxyActivities<TmfActivities>({
    taskQueue: input.tmfTaskQueue ?? 'tmf',
    // The HTTP timeouts of one activity's requests; a crashed tmf worker's activities retry after it.
    startToCloseTimeout: `${input.tmfTimeoutSeconds ?? 120}s`,
    retry: { initialInterval: '2s', maximumInterval: '5m', backoffCoefficient: 2 },
  });
  const actionRetry = { initialInterval: '2s', maximumInterval: '5m', backoffCoefficient: 2, maximumAttempts: 10 } as const;
  const actionActs = proxyActivities<ActionActivities>({ startToCloseTimeout: '1m', retry: actionRetry });
  // Write-backs (one short POST, or nothing without SLM_SOURCE_WEBHOOK) follow every problem creation:
  // run on this worker, they cost no task-queue round trip and no extra workflow task.
  const writeBackActs = proxyLocalActivities<ActionActivities>({ startToCloseTimeout: '1m', localRetryThreshold: '10s', retry: actionRetry });
  const activeStates = input.activeStates ?? DEFAULT_ACTIVE_STATES;
  const eventField = input.eventField ?? 'deviceIp';
  const reopenWindowMs = (input.reopenWindowSeconds ?? 30 * 86400) * 1000;

  const inbox: Change[] = input.carried?.pendingChanges ? [...input.carried.pendingChanges] : (input.carried?.pending ?? []).map((ticket) => ({ ticket }));
  const rejected: RejectedChange[] = [...(input.carried?.rejected ?? [])];
  /** Merge patches refused when applied, by their sequence number, for the update that sent them. */
  const refusedPatches = new Map<number, string>();
  const remote: RemoteProblemChange[] = [...(input.carried?.pendingRemote ?? [])];
  const actionResults: { key: string; status: ActionRecord['status']; detail: string | null }[] = [];
  let received = inbox.length;
  let applied = 0;
  let definitionsDirty = input.carried?.definitionsDirty ?? false;
  let defs: LoadedDefinitions | null = null;
  /** Whether the worker has a source to write fields back to (recorded with each batch's context). */
  let writesBack = true;
  /** The definitions being replaced, while a definitions change is applied. */
  let previousDefs: LoadedDefinitions | null = null;

  function reject(reason: string): void {
    rejected.push({ at: new Date(Date.now()).toISOString(), reason });
    if (rejected.length > 20) rejected.shift();
    rejectedChanged = true;
    log.warn('ticket change rejected', { ticketId: input.ticketId, reason });
  }
  /** A refusal not yet saved to the database. */
  let rejectedChanged = false;
  function validTicket(raw: unknown): Ticket {
    const ticket = parseTicket(raw);
    if (ticket.id !== input.ticketId) throw new Error(`ticket id "${ticket.id}" does not belong to workflow ticket:${input.ticketId}`);
    return ticket;
  }

  // Registered before the first await, so the snapshot delivered with the start is handled at once.
  setHandler(upsertTicketSignal, (raw) => {
    try {
      const ticket = validTicket(raw);
      // Runs of earlier releases refused a non-numeric priority or state; replaying their history,
      // such a signal stays refused (so no batch appears that the history does not have).
      if (!patched('free-form-ticket-fields')) legacyTicketCheck(ticket);
      inbox.push({ ticket });
      received++;
    } catch (err) {
      // A malformed snapshot is recorded and dropped; it never reaches the measurements.
      reject((err as Error).message);
    }
  });
  setHandler(
    upsertTicketUpdate,
    async (raw) => {
      inbox.push({ ticket: validTicket(raw) });
      const mine = ++received;
      await condition(() => applied >= mine);
      return { ticketId: input.ticketId, measurements: views(Date.now()), ticket: state.engine.ticket };
    },
    {
      // Runs before the update is accepted: a rejected update never enters history.
      validator: (raw) => {
        validTicket(raw);
      },
    },
  );
  setHandler(
    mergeTicketUpdate,
    async (raw) => {
      const mine = ++received;
      inbox.push({ patch: parseTicketPatch(raw, input.ticketId), seq: mine });
      await condition(() => applied >= mine);
      const refused = refusedPatches.get(mine);
      if (refused !== undefined) {
        refusedPatches.delete(mine);
        throw ApplicationFailure.create({ type: 'InvalidTicketChange', message: refused, nonRetryable: true });
      }
      return { ticketId: input.ticketId, measurements: views(Date.now()), ticket: state.engine.ticket };
    },
    {
      validator: (raw) => {
        parseTicketPatch(raw, input.ticketId);
      },
    },
  );
  setHandler(remoteProblemChangedSignal, (change) => {
    remote.push(change);
  });
  setHandler(definitionsChangedSignal, () => {
    definitionsDirty = true;
  });

  const state: CarriedState = input.carried ?? (await restore(dbActs, input.ticketId));
  if (!input.carried && state.rejected?.length) rejected.unshift(...state.rejected.slice(-20));
  state.windows ??= {};
  state.actions ??= [];

  function envFor(d: LoadedDefinitions): EngineEnv {
    return engineEnv(d.compiled, (cal) => BusinessCalendar.fromWindow(state.windows![`${d.version}:${cal.id}`] ?? EMPTY_WINDOW, `${d.version}:${cal.id}`));
  }

  function views(now: number): MeasurementView[] {
    const env = defs && envFor(defs);
    return state.engine.measurements.map((m) => {
      try {
        return toView(m, now, env?.calendar(m.calendarId) ?? null);
      } catch {
        return toView(m, now, null); // a calendar gone from the definitions: the last accounted values
      }
    });
  }

  setHandler(getTicketStatusQuery, (): TicketStatusView => {
    return {
      ticket: state.engine.ticket,
      measurements: views(Date.now()),
      serviceProblem: state.problem && {
        id: state.problem.id,
        incidentNumber: state.problem.incidentNumber,
        link: state.problem.link,
        status: state.problem.status,
        lastSyncAt: state.problem.lastSyncAt === null ? null : new Date(state.problem.lastSyncAt).toISOString(),
        lastError: state.lastError,
      },
      rejectedUpdates: rejected.map((r) => r.reason),
      rejectedChanges: [...rejected],
      alarms: [...(state.alarms ?? [])],
      pendingActions: state.actions!.length,
    };
  });

  /**
   * The definitions in force and the instant at which this batch applies. The instant is the workflow
   * clock, recorded through the local activity's result: workflow `Date.now()` alone is not guaranteed
   * to replay identically around local activities and task retries, so no business instant is taken
   * from it unrecorded. Returns the previous definitions when they changed.
   */
  async function loadContext(): Promise<{ now: number; previous: LoadedDefinitions | null }> {
    const ctx = await dbActs.loadEngineContext(Date.now(), defs?.version ?? null);
    writesBack = ctx.writesBack;
    if (ctx.definitions === null) return { now: ctx.now, previous: null };
    let compiled: CompiledDefinitions;
    try {
      compiled = compiledDefinitionsOf(ctx.version, ctx.definitions);
    } catch (err) {
      // Definitions are validated before they are stored; a stored document that no longer
      // validates keeps the previous definitions in force instead of failing the workflow task.
      log.error('stored definitions rejected', { version: ctx.version, reason: (err as Error).message });
      if (defs) return { now: ctx.now, previous: null };
      compiled = compiledDefinitionsOf(ctx.version, {});
    }
    const previous = defs;
    defs = { version: ctx.version, compiled };
    return { now: ctx.now, previous };
  }

  /**
   * Runs one engine step. When it needs business time outside a recorded calendar window, the state
   * goes back to its copy, the window is widened (a recorded local activity) and the step runs again.
   */
  async function runEngine(step: () => ActionEffect[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const copy = JSON.stringify(state.engine);
      try {
        queueActions(step());
        return;
      } catch (err) {
        if (!(err instanceof WindowExceededError) || err.calendarId === null || attempt >= 20) throw err;
        state.engine = JSON.parse(copy) as TicketEngineState;
        await widen(err.calendarId, err.needed);
      }
    }
  }

  async function widen(key: string, needed: number): Promise<void> {
    const sep = key.indexOf(':');
    const version = key.slice(0, sep);
    const spec = defs?.version === version ? defs.compiled.calendars.get(key.slice(sep + 1)) : previousDefs?.compiled.calendars.get(key.slice(sep + 1));
    if (!spec) throw ApplicationFailure.nonRetryable(`calendar ${key} is not in the definitions in force`);
    const current = state.windows![key];
    const from = current && needed >= current.from ? current.from : needed - 7 * DAY_MS;
    const to = current && needed < current.to ? current.to : needed + 60 * DAY_MS;
    state.windows![key] = await engineActs.compileCalendarWindow(spec, Math.min(from, current?.from ?? from), Math.max(to, current?.to ?? to));
  }

  /** Actions go to the runner; setField is applied by the engine itself, its write-back is an action. */
  function queueActions(effects: ActionEffect[]): void {
    state.actions!.push(...effects);
  }

  /** Carries out milestone actions one after the other, beside the main loop. */
  async function actionRunner(): Promise<void> {
    for (;;) {
      await condition(() => state.actions!.length > 0);
      const e = state.actions![0]!;
      let status: ActionRecord['status'] = 'done';
      let detail: string | null;
      try {
        detail = await runAction(e);
      } catch (err) {
        status = 'failed';
        detail = failureText(err);
        log.warn('milestone action failed', { ticketId: input.ticketId, key: e.key, reason: detail });
      }
      state.actions!.shift();
      actionResults.push({ key: e.key, status, detail });
    }
  }

  async function runAction(e: ActionEffect): Promise<string> {
    const a = e.action;
    const payload = {
      event: 'milestone',
      key: e.key,
      ticketId: e.ticketId,
      serviceTargetId: e.serviceTargetId,
      milestone: e.milestone,
      occurrence: e.occurrence,
      dueAt: new Date(e.dueAt).toISOString(),
      firedAt: new Date(e.firedAt).toISOString(),
      ticket: e.ticket,
      measurement: views(e.firedAt)[state.engine.measurements.findIndex((m) => targetKey(m) === e.key.split('|')[1])] ?? null,
    };
    if ('notify' in a) {
      const done: string[] = [];
      if (a.notify.webhook) done.push(await actionActs.notifyWebhook({ key: `${e.key}|webhook`, url: a.notify.webhook, payload }));
      if (a.notify.email) {
        const to = Array.isArray(a.notify.email) ? a.notify.email : [a.notify.email];
        const subject = a.notify.subject ?? `[SLM] ${e.milestone}: ${e.serviceTargetId} on ticket ${e.ticketId}`;
        const m = payload.measurement;
        const text = [
          `Milestone ${e.milestone} of service target ${e.serviceTargetId} fired at ${payload.firedAt} on ticket ${e.ticketId}.`,
          m ? `Status ${m.status}; due ${m.dueAt ?? 'n/a'}; elapsed ${m.elapsedSeconds} s of ${m.goalSeconds} s.` : '',
        ].join('\n');
        done.push(await actionActs.notifyEmail({ key: `${e.key}|email`, to, subject, text }));
      }
      return done.join('; ');
    }
    if ('setField' in a) return writeBackActs.writeBackFields({ key: e.key, ticketId: e.ticketId, fields: a.setField });
    if ('raiseAlarm' in a) {
      const body = milestoneAlarm(e.ticket, e, a.raiseAlarm, state.problem);
      const { id } = await tmf.raiseAlarm(body);
      (state.alarms ??= []).push({ id, externalAlarmId: body.externalAlarmId, device: e.ticketId, raisedAt: body.alarmRaisedTime });
      return `alarm ${id}`;
    }
    const workflowId = `slm-action:${e.key}`;
    try {
      await startChild(a.startWorkflow.workflowType, {
        workflowId,
        ...(a.startWorkflow.taskQueue ? { taskQueue: a.startWorkflow.taskQueue } : {}),
        args: [a.startWorkflow.input ?? payload],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return `workflow ${workflowId} already started`;
      throw err;
    }
    return `started workflow ${workflowId}`;
  }

  const connector = (): CompiledConnector => defs?.compiled.connector ?? DEFAULT_CONNECTOR;

  function hasWorkNow(): boolean {
    return inbox.length > 0 || remote.length > 0 || actionResults.length > 0 || definitionsDirty;
  }

  /** The snapshot a change makes: itself, or its merge patch over the latest snapshot; null when refused. */
  function resolveChange(change: Change): Ticket | null {
    if ('ticket' in change) return change.ticket;
    try {
      return validTicket(mergePatch(state.engine.ticket ?? { id: input.ticketId }, change.patch));
    } catch (err) {
      const reason = `merge patch refused: ${(err as Error).message}`;
      reject(reason);
      if (change.seq !== undefined) refusedPatches.set(change.seq, reason);
      return null;
    }
  }

  /** What the Temporal UI shows on the workflow's page, kept current (no history event: a query answers it). */
  let publishedDetails = '';
  function publishDetails(reopenWindowEnds: number | null): void {
    const text = ticketDetails({
      ticket: state.engine.ticket,
      measurements: state.engine.measurements,
      problem: state.problem,
      lastError: state.lastError,
      reopenWindowEnds,
      rejected: rejected.length,
    });
    if (text === publishedDetails) return;
    publishedDetails = text;
    setCurrentDetails(text);
  }

  /**
   * Records SNOW's view of our problem (our own changes coming back from the poll change nothing),
   * and applies the connector's reactions: fields set on the ticket, as a change at the next batch.
   */
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
    const ticket = state.engine.ticket;
    const fields = ticket && remoteReaction(connector(), ticket, { id: next.id, status: next.status, incidentNumber: next.incidentNumber, link: next.link });
    if (ticket && fields && Object.entries(fields).some(([k, v]) => JSON.stringify(ticket[k]) !== JSON.stringify(v))) {
      inbox.push({ ticket: { ...ticket, ...fields, id: ticket.id } });
      received++;
      writeBack(`${ticket.id}|remote|${change.updatedOn}`, fields);
    }
    return true;
  }

  /** Queues fields to POST back to the ticket's source (SLM_SOURCE_WEBHOOK), beside the main loop. */
  function writeBack(key: string, fields: Record<string, TicketValue>): void {
    const ticket = state.engine.ticket;
    if (!ticket || !writesBack) return;
    const now = Date.now();
    state.actions!.push({ key, ticketId: ticket.id, serviceTargetId: '', milestone: 'connector', occurrence: 0, actionIndex: 0, dueAt: now, firedAt: now, action: { setField: fields }, ticket });
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
   * The seed's cycle, per change: create the service problem if the ticket needs one (writing its
   * id, incident number and link back to the source), raise pending device alarms (so they can name
   * the problem), then PATCH what changed. When the closure condition holds, the last PATCH resolves
   * the problem with the resolution note and the ticket is no longer synced.
   */
  async function syncProblem(): Promise<void> {
    const ticket = state.engine.ticket;
    if (!ticket || state.syncClosed) return;
    const c = connector();
    let body: ServiceProblemBody;
    try {
      body = toServiceProblem(ticket, c);
    } catch (err) {
      // The ticket is fine; what SNOW would get is not: the problem carries the error until a change
      // (or a definitions fix) makes the ticket mappable.
      if (!(err instanceof ProblemMappingError)) throw err;
      state.lastError = `service problem not sent: ${err.message}`;
      return;
    }
    const closing = closes(c, ticket);
    await recordingFailure('service problem sync', async () => {
      // An active ticket gets its problem even when it arrives already meeting the closure condition:
      // SNOW then holds the record, resolved with its note just below.
      if (state.problem || !isActive(ticket, { activeStates }) || isClosedState(ticket)) return;
      const ref = await tmf.createServiceProblem(ticket.id, body);
      state.problem = { ...ref, status: body.status, lastSyncAt: Date.now() };
      state.lastSent = body;
      state.lastError = null;
      writeBack(`${ticket.id}|problem|${ref.id}`, { problemId: ref.id, incidentNumber: ref.incidentNumber, incidentLink: ref.link });
    });
    await raiseAlarms();
    await recordingFailure('service problem sync', async () => {
      if (!state.problem) return;
      const diff = diffForPatch(state.lastSent, body);
      const patch = closing ? { ...(diff ?? {}), ...closingPatch(ticket, c, Date.now()) } : diff;
      if (!patch) return;
      await tmf.patchServiceProblem(state.problem.id, patch);
      state.problem = { ...state.problem, status: closing ? 'resolved' : body.status, lastSyncAt: Date.now() };
      state.lastSent = body;
      state.lastError = null;
      if (closing) state.syncClosed = true;
    });
  }

  /** Runs a `tmf` call; a final failure (a 4xx from SNOW) is kept on the ticket and the next change tries again. */
  async function recordingFailure(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = failureText(err);
      state.lastError = cause;
      log.warn(`${what} failed`, { ticketId: input.ticketId, reason: cause });
    }
  }

  /** The search attribute values last sent. */
  let publishedAttributes = '';

  function publishSearchAttributes(): void {
    const ticket = state.engine.ticket;
    if (input.searchAttributes === false || !ticket) return;
    const due = nextDueOf(state.engine.measurements);
    const ms = state.engine.measurements;
    const statuses = [...new Set([...ms.map((m) => m.status), ...ms.map((m) => `${m.serviceTargetId}:${m.status}`)])];
    const updates = [
      { key: SA.ticketId, value: ticket.id },
      { key: SA.breached, value: isBreached(ms) },
      { key: SA.nextDue, value: due === null ? null : new Date(due) },
      { key: SA.ticketState, value: textField(ticket, 'state') },
      { key: SA.priority, value: priorityRank(ticket.priority) },
      { key: SA.problemId, value: state.problem?.id ?? null },
      { key: SA.incidentNumber, value: state.problem?.incidentNumber ?? null },
      { key: SA.statuses, value: statuses },
    ];
    // Each upsert is a visibility write on the server: only a change is sent.
    const text = JSON.stringify(updates.map((u) => u.value));
    if (text === publishedAttributes) return;
    publishedAttributes = text;
    upsertSearchAttributes(updates);
  }

  /** The wall clock at the last save, as the save recorded it (see the main loop's timers). */
  let savedAt = 0;

  /** The measurements as last saved: a save that changed none of them writes only the ticket row. */
  let savedMeasurements = '';

  async function persist(): Promise<void> {
    const ticket = state.engine.ticket;
    if (!ticket) return;
    const text = JSON.stringify(state.engine.measurements);
    const unchanged = text === savedMeasurements;
    const all = unchanged ? [] : views(Date.now());
    savedAt = await dbActs.saveTicketState({
      ticketId: input.ticketId,
      ticket,
      measurements: unchanged ? null : state.engine.measurements.map((m, i) => ({ state: m, view: all[i]! })),
      problem: state.problem && {
        id: state.problem.id,
        incidentNumber: state.problem.incidentNumber,
        link: state.problem.link,
        status: state.problem.status,
        lastSyncAt: state.problem.lastSyncAt,
      },
      lastError: state.lastError,
      syncClosed: state.syncClosed ?? false,
      rejectedChanges: [...rejected],
    });
    savedMeasurements = text;
    rejectedChanged = false;
  }

  /** Applies new definitions from `now` on: open measurements are recomputed, final ones kept. */
  async function applyDefinitions(previous: LoadedDefinitions | null, now: number): Promise<void> {
    if (!previous) return;
    previousDefs = previous;
    const next = defs!;
    await runEngine(() => applyDefinitionsChange(state.engine, envFor(previous), envFor(next), now, now));
    previousDefs = null;
    for (const key of Object.keys(state.windows!)) if (!key.startsWith(`${next.version}:`)) delete state.windows![key];
  }

  // Definitions are needed before any timer can fire (and `slm ticket export` reads this first load
  // as the run's definitions, the next ones as batches).
  await loadContext();
  void actionRunner();

  let quietSince: number | null = null;
  for (;;) {
    const now = Math.max(Date.now(), savedAt);
    const wake = nextWake(state.engine);
    const ticket = state.engine.ticket;
    const settled =
      ticket !== null &&
      isClosing(ticket) &&
      !state.engine.measurements.some(isOpen) &&
      state.actions.length === 0 &&
      (state.problem === null || state.problem.status === 'resolved' || state.problem.status === 'closed');

    if (settled) quietSince ??= now;
    else quietSince = null;
    publishDetails(quietSince === null ? null : quietSince + reopenWindowMs);

    // `now` only sizes the wait; instants come from state (a timer fires at the instant it was set
    // for) or from the recorded context of a batch of changes.
    // A timer runs from when the server records it, at the end of the workflow task that set it. A
    // task that ran local activities (a new ticket's first one, or any that saved its state) started
    // well before that, so the wait is measured from the save's own clock, recorded with its result:
    // firings then land within milliseconds of their instant instead of a task's duration late.
    let waitMs: number | undefined;
    if (wake !== null) waitMs = Math.max(1, wake - now);
    else if (quietSince !== null) waitMs = Math.max(1, quietSince + reopenWindowMs - now);
    // A run whose only change was refused holds no ticket: it ends instead of waiting for ever.
    const empty = ticket === null && waitMs === undefined && !hasWorkNow() && patched('empty-run-ends');
    if (empty) waitMs = EMPTY_RUN_MS;

    let changed = false;
    if (!hasWorkNow()) {
      if (waitMs === undefined) await condition(hasWorkNow);
      else {
        const signalled = await condition(hasWorkNow, waitMs);
        if (!signalled && wake === null && (quietSince !== null || empty)) break; // reopen window passed, or nothing ever came
        if (!signalled && wake !== null) {
          // The workflow clock says when the timer actually ran: late after an outage, recorded beside its instant.
          await runEngine(() => advance(state.engine, envFor(defs!), wake, Date.now()));
          changed = true;
        }
      }
    }

    if (inbox.length > 0 || definitionsDirty) {
      definitionsDirty = false;
      // Timers due at or before the batch's instant fire first, each at its own instant; then new
      // definitions, then the changes in order.
      const ctx = await loadContext();
      await applyDefinitions(ctx.previous, ctx.now);
      await runEngine(() => advance(state.engine, envFor(defs!), ctx.now, ctx.now));
      while (inbox.length > 0) {
        const change = inbox.shift()!;
        const next = resolveChange(change);
        if (next) {
          const device = state.syncClosed ? null : eventDevice(connector(), state.engine.ticket, next, eventField);
          if (device) (state.pendingAlarms ??= []).push({ device, at: ctx.now, ticket: next });
          await runEngine(() => applyTicketChange(state.engine, envFor(defs!), next, ctx.now, ctx.now));
        }
        applied++;
      }
      // Before the updates that sent these changes answer: the page shows what they did.
      publishDetails(null);
      changed = true;
    }
    while (actionResults.length > 0) {
      const r = actionResults.shift()!;
      recordActionResult(state.engine, r.key, r.status, r.detail);
      changed = true;
    }
    while (remote.length > 0) changed = applyRemoteChange(remote.shift()!) || changed;
    // A refusal alone is saved too (so `slm ticket show` lists it after the run ends); older runs did not.
    if (changed || (rejectedChanged && patched('save-refused-changes'))) {
      await syncProblem();
      await persist();
      publishSearchAttributes();
    }

    if (workflowInfo().continueAsNewSuggested) {
      // An update waits for its change to be applied: a change that came in meanwhile is applied in
      // the next round (waiting for the handlers alone would wait for ever), then the run continues.
      await condition(() => allHandlersFinished() || inbox.length > 0);
      // With no update waiting, changes still in the inbox travel with the run (a steady stream of
      // signals would otherwise keep the run going past the suggested length).
      if (inbox.length > 0 && !(allHandlersFinished() && patched('continue-as-new-with-inbox'))) continue;
      await continueAsNew<typeof ticketWorkflow>({
        ...input,
        carried: { ...state, pending: [], pendingChanges: [...inbox], rejected: [...rejected], pendingRemote: [...remote], definitionsDirty },
      });
    }
  }
  await condition(allHandlersFinished);
}

function failureText(err: unknown): string {
  if (err instanceof ActivityFailure || (err as { cause?: unknown })?.cause) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof ApplicationFailure) return cause.message;
    if (cause instanceof Error) return cause.message;
  }
  return (err as Error)?.message ?? String(err);
}

/** The ticket rules of release 0.1: `state` a non-empty string, `priority` a whole number 0–10. */
function legacyTicketCheck(ticket: Ticket): void {
  const { state, priority } = ticket;
  if (state !== undefined && (typeof state !== 'string' || state === '')) throw new Error('invalid ticket: state: expected a non-empty string');
  if (priority !== undefined && !(typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= 10)) {
    throw new Error('invalid ticket: priority: expected a whole number from 0 to 10');
  }
}

/** What was last sent for a saved ticket (null when it cannot be mapped: the next PATCH then sends everything). */
function lastSentOf(ticket: Ticket): ServiceProblemBody | null {
  try {
    return toServiceProblem(ticket);
  } catch {
    return null;
  }
}

async function restore(acts: DbActivities, ticketId: string): Promise<CarriedState> {
  const saved = await acts.loadTicketState(ticketId);
  const engine = newEngineState(ticketId);
  engine.ticket = saved?.ticket ?? null;
  engine.measurements = (saved?.measurements ?? []).map(normalizeMeasurement);
  return {
    engine,
    problem: saved?.problem ?? null,
    lastSent: saved?.ticket && saved.problem ? lastSentOf(saved.ticket) : null,
    lastError: saved?.lastError ?? null,
    syncClosed: saved?.syncClosed ?? false,
    rejected: saved?.rejectedChanges ?? [],
    pending: [],
  };
}
