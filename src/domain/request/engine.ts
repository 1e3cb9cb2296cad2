/**
 * The measurement engine for one ticket: every service target's measurement, moved through the
 * statuses of DESIGN §1 by ticket changes, timers (due instants and milestones) and definition edits.
 * One reducer for the ticket workflow and for `slm replay` (DESIGN §4.3), so both give the same result.
 *
 * The caller owns the state object and the engine mutates it. Business time comes from `env.calendar`:
 * in replay a calendar compiled on demand, in the workflow one made from a recorded window, which
 * throws `WindowExceededError` when a computation leaves it (the workflow then widens the window and
 * re-runs the step from its copy of the previous state).
 *
 * Rules that are easy to get wrong, as DESIGN §4.3 states them:
 * - timers due at or before an event fire first, each at its own instant; events at one instant apply in order;
 * - stop wins over exclude; elapsed equal to the goal is Met;
 * - a missing field makes a condition false, any other evaluation error makes that measurement Invalid;
 * - group inheritance takes the latest same-group measurement this change detached or that is final,
 *   and the gap since it stopped counts as paused; a re-attach without a group starts fresh;
 * - a milestone whose `if` is false when due is skipped, not retried; `repeat.times` counts the firings
 *   after the first; `setField` changes the ticket at the firing instant and every condition is
 *   evaluated again.
 */
import { TWENTY_FOUR_SEVEN, type BusinessTime, type Calendar } from '../calendar';
import type { Condition, ConditionResult } from '../conditions';
import type { ActionDefinition, CompiledDefinitions, CompiledMilestone, CompiledServiceTarget } from '../definitions';
import { goalForStart } from './goalSchedule';
import {
  accountTo,
  detach,
  invalidate,
  isFinal,
  isOpen,
  isRunning,
  newMeasurement,
  refreshDue,
  reopen,
  setStatus,
  settle,
  stop,
  LATE_THRESHOLD_MS,
  type ActionRecord,
  type Measurement,
  type MilestoneState,
} from './measurement';
import type { Ticket, TicketValue } from '../ticket';

export interface EngineEnv {
  defs: CompiledDefinitions;
  /** Business time of a calendar id (null: 24×7). Throws for an unknown id. */
  calendar(id: string | null): BusinessTime;
}

export interface TicketEngineState {
  ticketId: string;
  ticket: Ticket | null;
  measurements: Measurement[];
}

/** An action of a milestone firing that runs outside the engine (notify, alarm, workflow, write-back). */
export interface ActionEffect {
  /** Unique per ticket, target, milestone, occurrence and action: the idempotency key. */
  key: string;
  ticketId: string;
  serviceTargetId: string;
  milestone: string;
  occurrence: number;
  actionIndex: number;
  dueAt: number;
  firedAt: number;
  /** When the firing actually ran, when that was well after `firedAt` (LATE_THRESHOLD_MS). */
  ranAt?: number;
  action: ActionDefinition;
  ticket: Ticket;
}

/** What one engine step produces besides the state: effects, and ticket fields set by milestones. */
interface Step {
  effects: ActionEffect[];
  patch: Record<string, TicketValue> | null;
  depth: number;
  /** The instant this step actually runs (the workflow's recorded clock); null in replay, where timers run on time. */
  ranAt: number | null;
}

const newStep = (ranAt: number | null = null): Step => ({ effects: [], patch: null, depth: 0, ranAt });

/** The step's run instant when a timer due at `at` runs late enough to record it. */
function lateRun(step: Step, at: number): number | undefined {
  return step.ranAt !== null && step.ranAt - at >= LATE_THRESHOLD_MS ? step.ranAt : undefined;
}

export class UnknownCalendarError extends Error {
  override name = 'UnknownCalendarError';
}

export function newEngineState(ticketId: string): TicketEngineState {
  return { ticketId, ticket: null, measurements: [] };
}

/** An environment over compiled definitions whose calendars are made by `make` (cached per id). */
export function engineEnv(defs: CompiledDefinitions, make: (cal: Calendar) => BusinessTime): EngineEnv {
  const cache = new Map<string, BusinessTime>();
  return {
    defs,
    calendar(id) {
      if (id === null) return TWENTY_FOUR_SEVEN;
      let cal = cache.get(id);
      if (!cal) {
        const spec = defs.calendars.get(id);
        if (!spec) throw new UnknownCalendarError(`unknown calendar "${id}"`);
        cal = make(spec);
        cache.set(id, cal);
      }
      return cal;
    },
  };
}

// ── entry points ───────────────────────────────────────────────────────────────────────────────

/**
 * A new snapshot of the ticket at `at`: due timers first, then the change. `ranAt` is when the caller
 * actually runs this (the workflow's recorded clock): timers it finds overdue by more than
 * LATE_THRESHOLD_MS record it beside their due instant. Replay passes none: its timers run on time.
 */
export function applyTicketChange(state: TicketEngineState, env: EngineEnv, ticket: Ticket, at: number, ranAt: number | null = null): ActionEffect[] {
  const step = newStep(ranAt);
  advanceTo(state, env, at, step);
  state.ticket = ticket;
  evaluate(state, env, at, step);
  advanceTo(state, env, at, step);
  return step.effects;
}

/** Fires every timer due at or before `until`, each at its own instant. */
export function advance(state: TicketEngineState, env: EngineEnv, until: number, ranAt: number | null = null): ActionEffect[] {
  const step = newStep(ranAt);
  advanceTo(state, env, until, step);
  return step.effects;
}

/**
 * New definitions from `at` on (call `advance(state, oldEnv, at)` first): open measurements take the
 * new goal, calendar, conditions and milestones and re-arm their timers; final ones keep their result;
 * open measurements of removed targets are detached.
 */
export function applyDefinitionsChange(state: TicketEngineState, oldEnv: EngineEnv, env: EngineEnv, at: number, ranAt: number | null = null): ActionEffect[] {
  const step = newStep(ranAt);
  advanceTo(state, oldEnv, at, step);
  for (const m of state.measurements) {
    if (!isOpen(m)) continue;
    accountTo(m, at, oldEnv.calendar(m.calendarId));
    const target = env.defs.targets.find((t) => t.id === m.serviceTargetId);
    if (!target) {
      detach(m, at, TWENTY_FOUR_SEVEN, 'the service target was removed from the definitions');
      continue;
    }
    m.definitionVersion = env.defs.version;
    m.group = target.group ?? null;
    const old = new Map(m.milestones.map((s) => [s.name, s]));
    m.milestones = target.milestones.map((d) => old.get(d.name) ?? { name: d.name, count: 0, dueAt: null, lastWhen: null });
  }
  if (state.ticket) evaluate(state, env, at, step);
  advanceTo(state, env, at, step);
  return step.effects;
}

/** The earliest instant at which time alone changes something (a due instant or a milestone). */
export function nextWake(state: TicketEngineState): number | null {
  let best: number | null = null;
  for (const m of state.measurements) {
    const t = timerOf(m);
    if (t !== null && (best === null || t.at < best)) best = t.at;
  }
  return best;
}

/** Records the outcome of an action run outside the engine. */
export function recordActionResult(state: TicketEngineState, key: string, status: ActionRecord['status'], detail: string | null): void {
  const [, target = '', milestone, occurrence, index] = key.split('|');
  const m = state.measurements.find((x) => targetKey(x) === target);
  const firing = m?.firings.find((f) => f.milestone === milestone && String(f.occurrence) === occurrence);
  const action = firing?.actions[Number(index)];
  if (action) {
    action.status = status;
    action.detail = detail;
  }
}

/**
 * A measurement's name in action keys: the target id, plus `#n` for a later measurement of the same
 * target (so its actions never share an idempotency key with an earlier one's).
 */
export function targetKey(m: Pick<Measurement, 'serviceTargetId' | 'instance'>): string {
  return m.instance ? `${m.serviceTargetId}#${m.instance}` : m.serviceTargetId;
}

// ── timers ─────────────────────────────────────────────────────────────────────────────────────

/** The measurement's next timer: its due instant (kind -1) or a milestone (its index). */
function timerOf(m: Measurement): { at: number; kind: number } | null {
  if (!isOpen(m)) return null;
  let best: { at: number; kind: number } | null = null;
  if (m.status === 'InProcess' && m.goalReachedAt === null && m.dueAt !== null) best = { at: m.dueAt, kind: -1 };
  for (let i = 0; i < m.milestones.length; i++) {
    const due = m.milestones[i]!.dueAt;
    if (due !== null && (best === null || due < best.at)) best = { at: due, kind: i };
  }
  return best;
}

function advanceTo(state: TicketEngineState, env: EngineEnv, until: number, step: Step): void {
  for (let guard = 0; guard < 1_000_000; guard++) {
    let pick: { m: Measurement; at: number; kind: number } | null = null;
    for (const m of state.measurements) {
      const t = timerOf(m);
      if (t && t.at <= until && (pick === null || t.at < pick.at)) pick = { m, ...t };
    }
    if (!pick) return;
    const { m, at, kind } = pick;
    const cal = env.calendar(m.calendarId);
    accountTo(m, at, cal);
    if (kind === -1) {
      m.goalReachedAt = at;
      setStatus(m, 'MissedGoal', at);
      const late = lateRun(step, at);
      if (late !== undefined) m.segments[m.segments.length - 1]!.ranAt = late;
      refreshDue(m, cal);
      refreshMilestones(m, targetOf(env, m), cal);
      continue;
    }
    const target = targetOf(env, m);
    const def = milestoneDef(target, m.milestones[kind]!.name);
    if (!target || !def) {
      m.milestones[kind]!.dueAt = null;
      continue;
    }
    fire(state, m, target, env.calendar(m.calendarId), def, m.milestones[kind]!, at, step);
    if (step.patch) evaluate(state, env, at, step);
  }
  throw new Error('timer loop did not settle'); // a zero repeat interval would loop; the schema forbids it
}

function targetOf(env: EngineEnv, m: Measurement): CompiledServiceTarget | undefined {
  for (const t of env.defs.targets) if (t.id === m.serviceTargetId) return t;
  return undefined;
}

function milestoneDef(target: CompiledServiceTarget | undefined, name: string): CompiledMilestone | undefined {
  if (target) for (const d of target.compiledMilestones) if (d.name === name) return d;
  return undefined;
}

/** How many firings a milestone may have: one, plus its repeats. */
function allowed(def: CompiledMilestone): number {
  return 1 + (def.repeat ? (def.repeat.times ?? Infinity) : 0);
}

/** Business milliseconds of elapsed time at which occurrence `n` of a time-based milestone is due. */
function offsetOf(def: CompiledMilestone, goalMs: number, n: number): number | null {
  const at = def.at;
  let base: number;
  if ('percentOfGoal' in at) base = Math.round((goalMs * at.percentOfGoal) / 100);
  else if ('afterStart' in at) base = at.afterStart * 1000;
  else if ('beforeDue' in at) base = Math.max(0, goalMs - at.beforeDue * 1000);
  else if ('afterDue' in at) base = goalMs + at.afterDue * 1000;
  else return null;
  return base + n * (def.repeat?.every ?? 0) * 1000;
}

function refreshMilestones(m: Measurement, target: CompiledServiceTarget | undefined, cal: BusinessTime): void {
  for (const s of m.milestones) {
    const def = milestoneDef(target, s.name);
    const off = def && isRunning(m) && s.count < allowed(def) ? offsetOf(def, m.goalMs, s.count) : null;
    s.dueAt = off === null ? null : off <= m.elapsedMs ? m.accountedTo : cal.addMs(m.accountedTo, off - m.elapsedMs);
  }
}

/**
 * One firing of a milestone at `at`: its `if`, its log entry and its actions. Fields set by `setField`
 * go to `step.patch`; the caller applies them and evaluates every condition again at the same instant.
 */
function fire(state: TicketEngineState, m: Measurement, target: CompiledServiceTarget, cal: BusinessTime, def: CompiledMilestone, s: MilestoneState, at: number, step: Step): void {
  const occurrence = s.count++;
  // Missed repeats (an inherited or retroactive start far past them) collapse into this firing.
  while (def.repeat && s.count < allowed(def)) {
    const next = offsetOf(def, m.goalMs, s.count);
    if (next === null || next >= m.elapsedMs) break;
    s.count++;
  }
  const ticket = state.ticket!;
  const check = def.if_.evaluate(ticket);
  if (!check.ok) {
    invalidate(m, at, `milestone ${def.name}: ${check.reason}`, cal);
    return;
  }
  const late = lateRun(step, at);
  const ran = late === undefined ? {} : { ranAt: late };
  if (!check.value) {
    m.firings.push({ milestone: def.name, occurrence, dueAt: at, firedAt: at, skipped: `if ${def.if_.source} was false`, actions: [], ...ran });
    refreshMilestones(m, target, cal);
    return;
  }
  const records: ActionRecord[] = [];
  for (const [i, action] of def.actions.entries()) {
    const kind = Object.keys(action)[0] as ActionRecord['kind'];
    const key = [m.ticketId, targetKey(m), def.name, occurrence, i].join('|');
    step.effects.push({
      key,
      ticketId: m.ticketId,
      serviceTargetId: m.serviceTargetId,
      milestone: def.name,
      occurrence,
      actionIndex: i,
      dueAt: at,
      firedAt: at,
      ...ran,
      action,
      ticket,
    });
    if ('setField' in action) {
      step.patch = { ...(step.patch ?? {}), ...(action.setField as Record<string, TicketValue>) };
      records.push({ kind, status: 'done', detail: `set ${Object.keys(action.setField).join(', ')}` });
    } else records.push({ kind, status: 'pending', detail: null });
  }
  m.firings.push({ milestone: def.name, occurrence, dueAt: at, firedAt: at, skipped: null, actions: records, ...ran });
  refreshMilestones(m, target, cal);
}

// ── ticket evaluation ──────────────────────────────────────────────────────────────────────────

type Evaluated = { applies: boolean; start: boolean; stop: boolean; exclude: boolean };

/** A condition's result for this change, evaluated once however many targets share it (group members, common start/stop rules). */
function once(cond: Condition, ticket: Ticket, memo: Map<Condition, ConditionResult>): ConditionResult {
  let r = memo.get(cond);
  if (r === undefined) {
    r = cond.evaluate(ticket);
    memo.set(cond, r);
  }
  return r;
}

function conditionsOf(target: CompiledServiceTarget, ticket: Ticket, memo: Map<Condition, ConditionResult>): { ok: true; value: Evaluated } | { ok: false; reason: string } {
  const c = target.conditions;
  const applies = once(c.appliesTo, ticket, memo);
  if (!applies.ok) return applies;
  const start = once(c.start, ticket, memo);
  if (!start.ok) return start;
  const stop = once(c.stop, ticket, memo);
  if (!stop.ok) return stop;
  const exclude = once(c.exclude, ticket, memo);
  if (!exclude.ok) return exclude;
  return { ok: true, value: { applies: applies.value, start: start.value, stop: stop.value, exclude: exclude.value } };
}

/** Applies the current ticket to every target at `at`: detaches first, so group members can inherit. */
function evaluate(state: TicketEngineState, env: EngineEnv, at: number, step: Step): void {
  if (step.patch) {
    state.ticket = { ...state.ticket!, ...step.patch, id: state.ticket!.id };
    step.patch = null;
  }
  if (++step.depth > 50) throw new Error('setField milestones keep changing the ticket (more than 50 rounds at one instant)');
  const ticket = state.ticket!;
  // The latest measurement of each target (a re-attached one is pushed after the earlier ones).
  const byId = new Map<string, Measurement>();
  for (const m of state.measurements) byId.set(m.serviceTargetId, m);
  const memo = new Map<Condition, ConditionResult>();
  const targets = env.defs.targets;
  const evaluated: ReturnType<typeof conditionsOf>[] = [];
  for (const t of targets) evaluated.push(conditionsOf(t, ticket, memo));
  const detachedNow = new Set<Measurement>();

  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    const m = byId.get(target.id);
    const r = evaluated[i]!;
    if (!m || !isOpen(m)) continue;
    if (!r.ok) invalidate(m, at, r.reason, safeCalendar(env, m.calendarId));
    else if (!r.value.applies) {
      detach(m, at, env.calendar(m.calendarId));
      detachedNow.add(m);
    }
  }

  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    let m = byId.get(target.id) ?? null;
    const r = evaluated[i]!;
    if (!r.ok) {
      if (!m) {
        m = fresh(env, target, ticket, at, null);
        invalidate(m, at, r.reason, null);
        state.measurements.push(m);
        byId.set(target.id, m);
      }
      continue;
    }
    const c = r.value;
    const before = m?.status ?? null;
    const startedBefore = m !== null && m.startedAt !== null && (isOpen(m) || isFinal(m));
    if (m && isFinal(m)) {
      if (!c.applies || c.stop) {
        whenMilestones(state, env, m, target, at, step, false);
        continue;
      }
      reopen(m, at, env.calendar(m.calendarId));
    } else if (!m || m.status === 'Detached' || m.status === 'Invalid') {
      if (!c.applies) continue;
      const next = attach(state, env, target, ticket, at, detachedNow);
      // Beside the old one, never over it: every measurement a ticket had stays (DESIGN §4.3).
      let earlier = 0;
      for (const x of state.measurements) if (x.serviceTargetId === target.id) earlier++;
      if (earlier > 0) next.instance = earlier;
      state.measurements.push(next);
      byId.set(target.id, next);
      m = next;
      if (m.status === 'Invalid') continue;
    }
    if (!isOpen(m)) continue;
    progress(env, m, target, ticket, c, at);
    transitionMilestones(state, env, m, target, before, startedBefore, at, step);
    whenMilestones(state, env, m, target, at, step, true);
  }
  step.depth--;
  if (step.patch) evaluate(state, env, at, step);
}

function safeCalendar(env: EngineEnv, id: string | null): BusinessTime | null {
  try {
    return env.calendar(id);
  } catch (err) {
    if (err instanceof UnknownCalendarError) return null;
    throw err;
  }
}

function fresh(env: EngineEnv, target: CompiledServiceTarget, ticket: Ticket, at: number, calendarId: string | null): Measurement {
  return newMeasurement({
    ticketId: ticket.id,
    serviceTargetId: target.id,
    definitionVersion: env.defs.version,
    group: target.group ?? null,
    calendarId,
    at,
    goalMs: 'duration' in target.goal ? target.goal.duration * 1000 : 0,
    costPerMinute: target.costPerMinute ?? null,
    milestones: target.milestones.map((d) => d.name),
  });
}

/** A new measurement for `target`, inheriting from a group member when the group rule says so. */
function attach(state: TicketEngineState, env: EngineEnv, target: CompiledServiceTarget, ticket: Ticket, at: number, detachedNow: Set<Measurement>): Measurement {
  const calendar = resolveCalendar(env, target, ticket);
  const m = fresh(env, target, ticket, at, calendar.ok ? calendar.id : null);
  if (!calendar.ok) {
    invalidate(m, at, calendar.reason, null);
    return m;
  }
  const pred = target.group
    ? state.measurements
        .filter((x) => x.group === target.group && x.startedAt !== null && x.inheritedBy === null && (detachedNow.has(x) || isFinal(x)))
        .sort((a, b) => (a.stoppedAt ?? 0) - (b.stoppedAt ?? 0))
        .pop()
    : undefined;
  if (!pred) return m;

  // Inherit start, elapsed and paused time; the gap since the predecessor stopped counts as paused,
  // in the predecessor's business time (seed pp. 25–29).
  const predCal = env.calendar(pred.calendarId);
  const stoppedAt = pred.stoppedAt ?? at;
  const gap = predCal.diffMs(stoppedAt, at);
  m.startedAt = pred.startedAt;
  m.elapsedMs = pred.elapsedMs;
  m.pausedMs = pred.pausedMs + gap;
  m.inheritedFrom = pred.serviceTargetId;
  m.segments = pred.segments.slice(0, -1).map((s) => ({ ...s, stop: s.stop ?? stoppedAt }));
  m.segments.push({ status: pred.status, start: stoppedAt, stop: at, businessMs: gap, counts: gap > 0 ? 'paused' : 'none', note: `inherited from ${pred.serviceTargetId}` });
  m.segments.push({ status: 'InProcess', start: at, stop: null, businessMs: 0, counts: 'elapsed' });
  m.status = 'InProcess';
  pred.inheritedBy = target.id;
  if (isFinal(pred)) setStatus(pred, 'Detached', at);
  pred.dueAt = null;
  for (const s of pred.milestones) s.dueAt = null;
  return m;
}

function resolveCalendar(env: EngineEnv, target: CompiledServiceTarget, ticket: Ticket): { ok: true; id: string | null } | { ok: false; reason: string } {
  const ref = target.calendar;
  if (ref === undefined) return { ok: true, id: null };
  if (typeof ref === 'string') return { ok: true, id: ref };
  const v = ticket[ref.fromField];
  if (v === undefined || v === null) return { ok: false, reason: `calendar field "${ref.fromField}" is missing` };
  if (typeof v !== 'string') return { ok: false, reason: `calendar field "${ref.fromField}" must name a calendar (got ${typeof v})` };
  if (!env.defs.calendars.has(v)) return { ok: false, reason: `calendar field "${ref.fromField}" names unknown calendar "${v}"` };
  return { ok: true, id: v };
}

function instantOf(v: TicketValue | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** The goal in business milliseconds (and the cost per minute that goes with it). */
function resolveGoal(
  target: CompiledServiceTarget,
  ticket: Ticket,
  m: Measurement,
  cal: BusinessTime,
  at: number,
): { ok: true; goalMs: number; cost: number | null } | { ok: false; reason: string } {
  const goal = target.goal;
  const cost = target.costPerMinute ?? null;
  if ('duration' in goal) return { ok: true, goalMs: goal.duration * 1000, cost };
  if ('schedule' in goal) {
    const entry = goalForStart(goal.schedule, cal.localTime(m.startedAt ?? at));
    if (!entry) return { ok: false, reason: 'no goal schedule entry matches the start time' };
    return { ok: true, goalMs: entry.goal * 1000, cost: entry.costPerMinute ?? cost };
  }
  const v = ticket[goal.fromField];
  if (v === undefined || v === null) return { ok: false, reason: `goal field "${goal.fromField}" is missing` };
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return { ok: false, reason: `goal field "${goal.fromField}" must be a non-negative number of seconds` };
    return { ok: true, goalMs: Math.round(v * 1000), cost };
  }
  const due = instantOf(v);
  if (due === null) return { ok: false, reason: `goal field "${goal.fromField}" must be seconds or an ISO instant` };
  return { ok: true, goalMs: cal.diffMs(m.startedAt ?? at, due), cost };
}

/** Moves an open measurement by the ticket's conditions at `at`. */
function progress(env: EngineEnv, m: Measurement, target: CompiledServiceTarget, ticket: Ticket, c: Evaluated, at: number): void {
  accountTo(m, at, env.calendar(m.calendarId));
  const calendar = resolveCalendar(env, target, ticket);
  if (!calendar.ok) return invalidate(m, at, calendar.reason, null);
  m.calendarId = calendar.id;
  const cal = env.calendar(m.calendarId);

  if (m.status === 'Attached' && c.start) {
    let startAt = at;
    if (target.startTime) {
      const field = target.startTime.fromField;
      const v = ticket[field];
      if (v === undefined || v === null) return invalidate(m, at, `start time field "${field}" is missing`, cal);
      const t = instantOf(v);
      if (t === null) return invalidate(m, at, `start time field "${field}" must be an ISO instant or epoch milliseconds`, cal);
      startAt = Math.min(t, at); // a future instant is clamped to the start
    }
    m.startedAt = startAt;
    setStatus(m, 'InProcess', at);
    if (startAt < at) {
      // Retroactive start: all of it counts as elapsed (when it was excluded is unknowable).
      const seg = m.segments[m.segments.length - 1]!;
      seg.start = startAt;
      seg.businessMs = cal.diffMs(startAt, at);
      m.elapsedMs += seg.businessMs;
    }
  }

  const goal = resolveGoal(target, ticket, m, cal, at);
  if (!goal.ok) return invalidate(m, at, goal.reason, cal);
  m.goalMs = goal.goalMs;
  m.costPerMinute = goal.cost;

  if (m.status !== 'Attached') {
    if (c.stop) stop(m, at, cal);
    else if (c.exclude) setStatus(m, 'Pending', at);
    else if (m.status === 'Pending') setStatus(m, m.goalReachedAt !== null ? 'MissedGoal' : 'InProcess', at);
  } else if (c.stop) stop(m, at, cal);
  settle(m, cal);
  refreshMilestones(m, target, cal);
}

/** `on: start | stop | exclude` milestones, fired at the instant of the transition. */
function transitionMilestones(
  state: TicketEngineState,
  env: EngineEnv,
  m: Measurement,
  target: CompiledServiceTarget,
  before: Measurement['status'] | null,
  startedBefore: boolean,
  at: number,
  step: Step,
): void {
  const events: string[] = [];
  if (!startedBefore && m.startedAt !== null && m.inheritedFrom === null) events.push('start');
  if (m.status === 'Pending' && before !== 'Pending') events.push('exclude');
  if (isFinal(m) && !(before === 'Met' || before === 'Missed')) events.push('stop');
  for (const event of events) {
    for (const def of target.compiledMilestones) {
      if (!('on' in def.at) || def.at.on !== event) continue;
      const s = milestoneState(m, def.name);
      if (s && s.count < allowed(def) && m.status !== 'Invalid') fire(state, m, target, env.calendar(m.calendarId), def, s, at, step);
    }
  }
}

function milestoneState(m: Measurement, name: string): MilestoneState | undefined {
  for (const s of m.milestones) if (s.name === name) return s;
  return undefined;
}

/** `when` milestones: fire on the rising edge of their condition. */
function whenMilestones(state: TicketEngineState, env: EngineEnv, m: Measurement, target: CompiledServiceTarget, at: number, step: Step, open: boolean): void {
  for (const def of target.compiledMilestones) {
    if (!def.when) continue;
    const s = milestoneState(m, def.name);
    if (!s) continue;
    const r = def.when.evaluate(state.ticket!);
    if (!r.ok) {
      if (open && isOpen(m)) invalidate(m, at, `milestone ${def.name}: ${r.reason}`, safeCalendar(env, m.calendarId));
      return;
    }
    const rising = r.value && s.lastWhen !== true;
    s.lastWhen = r.value;
    if (rising && s.count < allowed(def) && m.status !== 'Invalid' && m.status !== 'Detached') fire(state, m, target, env.calendar(m.calendarId), def, s, at, step);
  }
}
