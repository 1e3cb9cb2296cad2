/**
 * `slm replay` (DESIGN §4.3): a ticket history evaluated offline by the same engine the ticket
 * workflows run. Pure: the CLI reads the files and prints the lines this returns.
 */
import { BusinessCalendar } from './calendar';
import { compileDefinitions, mergeDefinitions, parseDefinitions, type Definitions } from './definitions';
import {
  advance,
  applyDefinitionsChange,
  applyTicketChange,
  engineEnv,
  newEngineState,
  targetKey,
  type ActionEffect,
  type EngineEnv,
  type TicketEngineState,
} from './request/engine';
import { milestoneAlarm } from './snow/alarm';
import { toView, type MeasurementView } from './request/measurement';
import { actionWorkflowId, measurementIndexOf, milestoneEmail, milestonePayload } from './notifications';
import { noteDeviceEvent, snowCycle, snowSettings, ticketCloses, type SnowAnswer, type SnowRequest, type SnowState } from './snow/snowCycle';
import { snapshotOrder } from './sources';
import { parseTicket } from './ticket';
import { ticketAttributes, type TicketAttributes } from './ticketAttributes';
import { isSettled } from './request/ticketLifecycle';
import { parseCi, parseKpiSample } from './ci/ci';
import {
  advanceCi,
  applyCiChange,
  applyCiDefinitionsChange,
  applyKpiReadings,
  newCiState,
  toCiView,
  type CiActionEffect,
  type CiEngineState,
  type CiMeasurementView,
} from './ci/engine';

export type ReplayEvent =
  | { at: number; line: number; ticket: unknown }
  | { at: number; line: number; definitions: unknown }
  | { at: number; line: number; check: string }
  | { at: number; line: number; ci: unknown }
  | { at: number; line: number; kpi: unknown };

export interface ReplayOutput {
  check: string;
  at: string;
  measurements: MeasurementView[];
  /** CI measurements (`ciId`, DESIGN §4.7), present once a CI line came; printed after the ticket ones (`printedReplayLine`). */
  ciMeasurements?: CiMeasurementView[];
  /** With `decisions`: what the ticket workflow would have done besides measuring, per ticket. */
  decisions?: Record<string, TicketDecisions>;
}

/**
 * Everything else a ticket run decides, as `slm replay --decisions` shows it: the calls to SNOW (SNOW
 * accepting each), the notices, alarms, write-backs and workflows of milestone actions, the search
 * attributes, and whether the run has settled (its reopen window running). Requests and actions are
 * those since the previous output line.
 */
export interface TicketDecisions {
  serviceProblem: { id: string; status: string | null; lastSyncAt: string | null; syncClosed: boolean } | null;
  lastError: string | null;
  requests: { at: string; kind: SnowRequest['kind']; [detail: string]: unknown }[];
  actions: { at: string; key: string; kind: string; [detail: string]: unknown }[];
  searchAttributes: TicketAttributes | null;
  settled: boolean;
}

interface DecisionState {
  snow: SnowState;
  requests: TicketDecisions['requests'];
  actions: TicketDecisions['actions'];
  problems: number;
  alarms: number;
}

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** Parses a JSONL event log; throws a ReplayError naming the line. */
export function parseEvents(text: string): ReplayEvent[] {
  const events: ReplayEvent[] = [];
  let last = -Infinity;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(raw) as Record<string, unknown>;
    } catch (err) {
      throw new ReplayError(`line ${line}: not JSON (${(err as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ReplayError(`line ${line}: expected a JSON object`);
    const at = typeof obj.at === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(obj.at) ? Date.parse(obj.at) : NaN;
    if (Number.isNaN(at)) throw new ReplayError(`line ${line}: "at" must be an ISO 8601 instant with Z or an offset`);
    if (at < last) throw new ReplayError(`line ${line}: "at" goes back in time (events must be in order)`);
    last = at;
    const kinds = ['ticket', 'definitions', 'check', 'ci', 'kpi'].filter((k) => k in obj);
    if (kinds.length !== 1) throw new ReplayError(`line ${line}: expected exactly one of "ticket", "ci", "kpi", "definitions" or "check"`);
    if ('ci' in obj) events.push({ at, line, ci: obj.ci });
    else if ('kpi' in obj) events.push({ at, line, kpi: obj.kpi });
    else if ('check' in obj) {
      if (typeof obj.check !== 'string') throw new ReplayError(`line ${line}: "check" must be a label string`);
      events.push({ at, line, check: obj.check });
    } else if ('ticket' in obj) events.push({ at, line, ticket: obj.ticket });
    else events.push({ at, line, definitions: obj.definitions });
  });
  return events;
}

/** Replays `events` over `definitions`; returns one output per check plus the "end" one. */
export function replay(
  definitions: unknown,
  events: ReplayEvent[],
  onEffect?: (e: ActionEffect) => void,
  opts: { decisions?: boolean; onCiEffect?: (e: CiActionEffect) => void } = {},
): ReplayOutput[] {
  let defs: Definitions;
  try {
    defs = parseDefinitions(definitions);
  } catch (err) {
    throw new ReplayError((err as Error).message);
  }
  // Measurements record the definitions version they used: the document's `version` label, else 1, 2, …
  let count = 1;
  const makeEnv = (d: Definitions, label: string | undefined) => engineEnv(compileDefinitions(d, label ?? String(count)), (cal) => BusinessCalendar.fromSpec(cal));
  let env: EngineEnv = makeEnv(defs, defs.version);
  const tickets = new Map<string, TicketEngineState>();
  const cis = new Map<string, CiEngineState>();
  const ciOf = (id: string) => {
    let c = cis.get(id);
    if (!c) cis.set(id, (c = newCiState(id)));
    return c;
  };
  const emitCi = (effects: CiActionEffect[]) => effects.forEach((e) => opts.onCiEffect?.(e));
  const out: ReplayOutput[] = [];
  const decided = new Map<string, DecisionState>();
  const decisionsOf = (id: string): DecisionState => {
    let d = decided.get(id);
    if (!d) decided.set(id, (d = { snow: { problem: null, lastSent: null, lastError: null }, requests: [], actions: [], problems: 0, alarms: 0 }));
    return d;
  };
  const emit = (effects: ActionEffect[]) =>
    effects.forEach((e) => {
      onEffect?.(e);
      if (opts.decisions) recordAction(decisionsOf(e.ticketId), e, tickets.get(e.ticketId)!, env);
    });
  /** The SNOW cycle after a batch, with SNOW accepting every call. */
  const sync = (state: TicketEngineState, at: number) => {
    const d = decisionsOf(state.ticketId);
    const cycle = snowCycle(d.snow, state.ticket, snowSettings(env.defs.connector), at);
    let answer: SnowAnswer | undefined;
    for (let step = cycle.next(); !step.done; step = cycle.next(answer)) answer = simulateSnow(d, step.value, at);
  };

  const snapshot = (label: string, at: number): ReplayOutput => {
    const measurements: MeasurementView[] = [];
    const ciViews: CiMeasurementView[] = [];
    for (const c of cis.values()) {
      emitCi(advanceCi(c, env, at));
      for (const m of c.measurements) ciViews.push(toCiView(c.ciId, m, at, env.calendar(m.calendarId)));
    }
    for (const state of tickets.values()) {
      const before = state.ticket;
      emit(advance(state, env, at));
      // A milestone's setField changed the ticket: the run syncs it.
      if (opts.decisions && state.ticket !== before) sync(state, at);
      for (const m of state.measurements) measurements.push(toView(m, at, env.calendar(m.calendarId)));
    }
    const line: ReplayOutput = { check: label, at: new Date(at).toISOString(), measurements };
    if (cis.size > 0) line.ciMeasurements = ciViews;
    if (opts.decisions) {
      line.decisions = {};
      for (const state of tickets.values()) {
        const d = decisionsOf(state.ticketId);
        const p = d.snow.problem;
        const t = state.ticket;
        line.decisions[state.ticketId] = {
          serviceProblem: p && { id: p.id, status: p.status, lastSyncAt: p.lastSyncAt === null ? null : new Date(p.lastSyncAt).toISOString(), syncClosed: !!d.snow.syncClosed },
          lastError: d.snow.lastError,
          requests: d.requests.splice(0),
          actions: d.actions.splice(0),
          searchAttributes: t && ticketAttributes(t, state.measurements, p),
          settled: isSettled({ ticket: t, closed: t !== null && ticketCloses(env.defs.connector, t), measurements: state.measurements, pendingActions: 0, problem: p }),
        };
      }
    }
    return line;
  };

  for (const event of events) {
    try {
      if ('ticket' in event) {
        const ticket = parseTicket(event.ticket);
        let state = tickets.get(ticket.id);
        if (!state) tickets.set(ticket.id, (state = newEngineState(ticket.id)));
        // As the ticket workflow does: a snapshot older than the one applied (its updatedAt) is ignored.
        if (snapshotOrder(state.ticket, ticket) === 'older') continue;
        if (opts.decisions) noteDeviceEvent(decisionsOf(ticket.id).snow, snowSettings(env.defs.connector), state.ticket, ticket, event.at);
        emit(applyTicketChange(state, env, ticket, event.at));
        if (opts.decisions) sync(state, event.at);
      } else if ('definitions' in event) {
        defs = mergeDefinitions(defs, event.definitions);
        count++;
        const next = makeEnv(defs, (event.definitions as { version?: unknown } | null)?.version === undefined ? undefined : defs.version);
        for (const state of tickets.values()) emit(applyDefinitionsChange(state, env, next, event.at));
        for (const c of cis.values()) emitCi(applyCiDefinitionsChange(c, env, next, event.at));
        env = next;
      } else if ('ci' in event) {
        const ci = parseCi(event.ci);
        emitCi(applyCiChange(ciOf(ci.id), env, ci, event.at));
      } else if ('kpi' in event) {
        const s = parseKpiSample(event.kpi, event.at, 'kpi');
        emitCi(applyKpiReadings(ciOf(s.ci), env, { [s.name]: { value: s.value, at: s.at } }, event.at));
      } else out.push(snapshot(event.check, event.at));
    } catch (err) {
      if (err instanceof ReplayError) throw err;
      throw new ReplayError(`line ${event.line}: ${(err as Error).message}`);
    }
  }
  const end = events.length ? events[events.length - 1]!.at : 0;
  out.push(snapshot('end', end));
  return out;
}

/** A replay output line as `slm replay` prints it (DESIGN §4.3, §4.7): CI measurements beside ticket ones. */
export function printedReplayLine(o: ReplayOutput): string {
  const { ciMeasurements, ...rest } = o;
  return JSON.stringify(ciMeasurements ? { ...rest, measurements: [...o.measurements, ...ciMeasurements] } : rest);
}

/** SNOW as replay sees it: every call accepted, ids numbered per ticket. */
function simulateSnow(d: DecisionState, r: SnowRequest, at: number): SnowAnswer | undefined {
  const when = new Date(at).toISOString();
  switch (r.kind) {
    case 'create':
      d.requests.push({ at: when, kind: 'create', body: r.body });
      return { ok: true, ref: { id: `problem-${++d.problems}`, incidentNumber: null, link: null } };
    case 'alarm':
      d.requests.push({ at: when, kind: 'alarm', body: r.body });
      return { ok: true, id: `alarm-${++d.alarms}` };
    case 'patch':
      d.requests.push({ at: when, kind: 'patch', problemId: r.problemId, patch: r.patch });
      return { ok: true };
    case 'writeBack':
      d.requests.push({ at: when, kind: 'writeBack', key: r.key, fields: r.fields });
      return undefined;
  }
}

/** A milestone action as the action runner would carry it out: what it sends, where. */
function recordAction(d: DecisionState, e: ActionEffect, state: TicketEngineState, env: EngineEnv): void {
  const at = new Date(e.firedAt).toISOString();
  const i = measurementIndexOf(e.key, state.measurements.map(targetKey));
  const m = state.measurements[i];
  const payload = milestonePayload(e, m ? toView(m, e.firedAt, env.calendar(m.calendarId)) : null);
  const a = e.action;
  if ('notify' in a) {
    if (a.notify.webhook) d.actions.push({ at, key: `${e.key}|webhook`, kind: 'webhook', url: a.notify.webhook, payload });
    if (a.notify.email) d.actions.push({ at, key: `${e.key}|email`, kind: 'email', to: a.notify.email, ...milestoneEmail(payload, a.notify.subject) });
  } else if ('setField' in a) d.actions.push({ at, key: e.key, kind: 'setField', fields: a.setField });
  else if ('raiseAlarm' in a) d.actions.push({ at, key: e.key, kind: 'alarm', body: milestoneAlarm(e.ticket, e, a.raiseAlarm, d.snow.problem) });
  else d.actions.push({ at, key: e.key, kind: 'startWorkflow', workflowId: actionWorkflowId(e.key), workflowType: a.startWorkflow.workflowType });
}
