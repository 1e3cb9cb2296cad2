/**
 * The measurement engine for one configuration item (DESIGN §4.7), the request engine's sibling: every
 * availability and performance target's measurement on the CI, moved by CI snapshots, KPI readings,
 * timers (milestones, KPI values going stale) and definition edits. One reducer for the CI workflow
 * and for `slm replay`, so both give the same result.
 *
 * Rules (DESIGN §4.7):
 * - a measurement is in exactly one state at a time: availability up | down | unknown (down wins when
 *   both conditions hold; neither is unknown), performance ok | warning | alarm | unknown;
 * - segments record each state with its start and end; only business time of the target's calendar
 *   counts in any sum (up = up, or ok and warning; down = down, or alarm; unknown = unknown);
 * - a KPI value is current until `missingData.after` after its sample; an expression that reads a KPI
 *   with no current value follows `treatAs` (`lastValue` evaluates on the last value anyway); any other
 *   evaluation error makes the measurement Invalid with the reason (its time counts as unknown) until an
 *   evaluation succeeds again;
 * - a down count is the number of maximal down intervals that reach business time, counted at the
 *   first business millisecond of each;
 * - timers due at or before an event's instant fire first, each at its own instant; at one instant
 *   milestones fire before KPI values go stale.
 */
import { TWENTY_FOUR_SEVEN, type BusinessTime } from '../calendar';
import type { ActionDefinition, CiGoalDefinition, CompiledCiMilestone, CompiledCiTarget } from '../definitions';
import type { EngineEnv } from '../request/engine';
import type { Ci, KpiReading, KpiValue } from './ci';

export type AvailabilityState = 'up' | 'down' | 'unknown';
export type PerformanceState = 'ok' | 'warning' | 'alarm' | 'unknown';
export type CiState = AvailabilityState | PerformanceState;
/** Attached: no state known since it attached; InProcess: measuring; Invalid: its conditions fail to evaluate. */
export type CiStatus = 'Attached' | 'InProcess' | 'Detached' | 'Invalid';

export interface CiSegment {
  state: CiState;
  startAt: number;
  endAt: number | null;
  businessMs: number;
}

export interface CiMilestoneState {
  name: string;
  /** Firings (and skips) so far: the occurrence number of the last one. */
  fired: number;
  /** Firings in the current down interval (downFor and its repeats). */
  inInterval: number;
  /** availabilityBelow: whether availability has been at or above the level since the last firing. */
  armed: boolean;
  dueAt: number | null;
  firedAt: number | null;
}

export interface CiFiring {
  milestone: string;
  occurrence: number;
  dueAt: number;
  firedAt: number;
  skipped: string | null;
  actions: { status: 'pending' | 'done' | 'failed'; detail: string | null }[];
}

export interface CiMeasurement {
  serviceTargetId: string;
  /** Numbers the measurements of one target on one CI: a target that attaches again gets a new one. */
  instance: number;
  type: 'availability' | 'performance';
  status: CiStatus;
  state: CiState;
  reason: string | null;
  startedAt: number;
  stoppedAt: number | null;
  calendarId: string | null;
  definitionVersion: string;
  costPerMinute: number | null;
  goal: CiGoalDefinition;
  /** Business milliseconds counted up to `accountedTo`. */
  accountedTo: number;
  upMs: number;
  downMs: number;
  unknownMs: number;
  downCount: number;
  /** The current down interval: its start, whether it is counted yet, its business milliseconds. */
  downStart: number | null;
  downCounted: boolean;
  downIntervalMs: number;
  /** When a KPI value it may read goes stale (performance), else null. */
  expiresAt: number | null;
  segments: CiSegment[];
  /** Segments dropped from the front of `segments` (the workflow keeps only recent ones; all are stored). */
  segmentBase: number;
  milestones: CiMilestoneState[];
  firings: CiFiring[];
}

export interface CiEngineState {
  ciId: string;
  /** The CI's latest snapshot; null until one came (KPI samples may come first). */
  ci: Ci | null;
  /** The latest reading of each KPI. */
  kpis: Record<string, KpiReading>;
  measurements: CiMeasurement[];
}

/** A milestone action that runs outside the engine. */
export interface CiActionEffect {
  /** Unique per CI, measurement, milestone, occurrence and action: the idempotency key. */
  key: string;
  ciId: string;
  serviceTargetId: string;
  milestone: string;
  occurrence: number;
  actionIndex: number;
  dueAt: number;
  firedAt: number;
  action: ActionDefinition;
  ci: Ci;
}

export function newCiState(ciId: string): CiEngineState {
  return { ciId, ci: null, kpis: {}, measurements: [] };
}

const isDown = (s: CiState) => s === 'down' || s === 'alarm';
const isUp = (s: CiState) => s === 'up' || s === 'ok' || s === 'warning';
export const isOpenCi = (m: CiMeasurement) => m.status !== 'Detached';

/** A measurement's name in action keys: the target id, plus `#n` for a later measurement of the same target. */
export function ciTargetKey(m: Pick<CiMeasurement, 'serviceTargetId' | 'instance'>): string {
  return m.instance ? `${m.serviceTargetId}#${m.instance}` : m.serviceTargetId;
}

// ── entry points ───────────────────────────────────────────────────────────────────────────────

/** A new snapshot of the CI at `at`: due timers first, then the change. */
export function applyCiChange(state: CiEngineState, env: EngineEnv, ci: Ci, at: number): CiActionEffect[] {
  const effects: CiActionEffect[] = [];
  advanceTo(state, env, at, effects);
  state.ci = ci;
  evaluate(state, env, at, effects, 'ci');
  return effects;
}

/**
 * New KPI readings at `at` (each with the instant it was measured): due timers first. A reading
 * older than the one held for its KPI is ignored (samples arrive out of order).
 */
export function applyKpiReadings(state: CiEngineState, env: EngineEnv, readings: Record<string, KpiReading>, at: number): CiActionEffect[] {
  const effects: CiActionEffect[] = [];
  advanceTo(state, env, at, effects);
  let changed = false;
  for (const name in readings) {
    const r = readings[name]!;
    const held = state.kpis[name];
    if (held && held.at > r.at) continue;
    if (held && held.at === r.at && held.value === r.value) continue;
    state.kpis[name] = { value: r.value, at: r.at };
    changed = true;
  }
  if (changed) evaluate(state, env, at, effects, 'kpi');
  return effects;
}

/** Fires every timer due at or before `until`, each at its own instant. */
export function advanceCi(state: CiEngineState, env: EngineEnv, until: number): CiActionEffect[] {
  const effects: CiActionEffect[] = [];
  advanceTo(state, env, until, effects);
  return effects;
}

/**
 * New definitions from `at` on: open measurements take the new calendar, conditions, goal and
 * milestones (their time so far is kept); measurements of removed targets are detached; targets that
 * now apply attach.
 */
export function applyCiDefinitionsChange(state: CiEngineState, oldEnv: EngineEnv, env: EngineEnv, at: number): CiActionEffect[] {
  const effects: CiActionEffect[] = [];
  advanceTo(state, oldEnv, at, effects);
  for (const m of state.measurements) {
    if (!isOpenCi(m)) continue;
    accountTo(m, at, oldEnv.calendar(m.calendarId));
    const target = findTarget(env, m.serviceTargetId);
    if (!target || target.type !== m.type) {
      detachCi(m, at, 'the service target was removed from the definitions');
      continue;
    }
    m.definitionVersion = env.defs.version;
    m.calendarId = target.calendar ?? null;
    m.costPerMinute = target.costPerMinute ?? null;
    m.goal = target.goal;
    const old = new Map(m.milestones.map((s) => [s.name, s]));
    m.milestones = target.milestones.map((d) => old.get(d.name) ?? newMilestone(d.name));
  }
  evaluate(state, env, at, effects);
  return effects;
}

/** The earliest instant at which time alone changes something (a milestone, a KPI going stale). */
export function nextCiWake(state: CiEngineState): number | null {
  let best: number | null = null;
  for (const m of state.measurements) {
    const t = timerOf(m);
    if (t !== null && (best === null || t.at < best)) best = t.at;
  }
  return best;
}

/** Records the outcome of an action run outside the engine. */
export function recordCiActionResult(state: CiEngineState, key: string, status: 'done' | 'failed', detail: string | null): void {
  const [, target = '', milestone, occurrence, index] = key.split('|');
  for (const m of state.measurements) {
    if (ciTargetKey(m) !== target) continue;
    for (const f of m.firings) {
      if (f.milestone === milestone && String(f.occurrence) === occurrence) {
        const a = f.actions[Number(index)];
        if (a) {
          a.status = status;
          a.detail = detail;
        }
      }
    }
  }
}

// ── evaluation ─────────────────────────────────────────────────────────────────────────────────

function findTarget(env: EngineEnv, id: string): CompiledCiTarget | undefined {
  const targets = env.defs.ciTargets;
  for (let i = 0; i < targets.length; i++) if (targets[i]!.id === id) return targets[i];
  return undefined;
}

function latestOpen(state: CiEngineState, targetId: string): CiMeasurement | undefined {
  const ms = state.measurements;
  for (let i = ms.length - 1; i >= 0; i--) {
    const m = ms[i]!;
    if (m.serviceTargetId === targetId) return isOpenCi(m) ? m : undefined;
  }
  return undefined;
}

/**
 * What changed, so evaluation skips what cannot have: a KPI reading changes no terms and no
 * availability state; a CI snapshot changes no performance state (KPI values go stale only at their
 * own timers, which evaluate then). `all` after definition edits.
 */
type Scope = 'all' | 'ci' | 'kpi';

/** Whether evaluation skips by scope (the default); the tests turn it off to compare with evaluating everything. */
let scoped = true;
export function scopedEvaluation(on: boolean): void {
  scoped = on;
}
const TERMS_HOLD = Object.freeze({ ok: true, value: true } as const);

/** Attaches, detaches and moves every target's measurement to the state the CI and its KPIs give at `at`. */
function evaluate(state: CiEngineState, env: EngineEnv, at: number, effects: CiActionEffect[], scope: Scope = 'all'): void {
  if (!scoped) scope = 'all';
  for (let depth = 0; depth < 10; depth++) {
    const ci = state.ci ?? { id: state.ciId };
    const targets = env.defs.ciTargets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      let m = latestOpen(state, target.id);
      if (m && scope === 'kpi' && target.type === 'availability') continue;
      // KPIs change no terms: an attached measurement stays attached (unless its terms failed to evaluate).
      const terms = m && scope === 'kpi' && m.status !== 'Invalid' ? TERMS_HOLD : target.appliesTo_.evaluate(ci);
      if (terms.ok && !terms.value) {
        if (m) {
          accountTo(m, at, env.calendar(m.calendarId));
          detachCi(m, at, null);
        }
        continue;
      }
      // A snapshot leaves a valid performance measurement's state as it is.
      if (m && terms.ok && scope === 'ci' && target.type === 'performance' && m.status !== 'Invalid') continue;
      const next = terms.ok ? stateOf(target, ci, state.kpis, at) : { state: 'unknown' as CiState, invalid: terms.reason };
      if (!m) {
        m = attach(state, env, target, next.state, at);
        state.measurements.push(m);
      }
      const cal = env.calendar(m.calendarId);
      accountTo(m, at, cal);
      moveTo(m, next.state, next.invalid, at);
      m.expiresAt = target.type === 'performance' && target.missingData.treatAs !== 'lastValue' ? expiryAfter(state.kpis, at, target.missingData.after * 1000) : null;
      refreshMilestones(m, target, cal);
    }
    // A milestone due now (a down count reached, availability already below) fires at once.
    const before = state.ci;
    fireDue(state, env, at, effects);
    if (state.ci === before) return;
    scope = 'ci';
  }
}

function attach(state: CiEngineState, env: EngineEnv, target: CompiledCiTarget, first: CiState, at: number): CiMeasurement {
  const down = first === 'down' || first === 'alarm';
  let instance = 0;
  for (const x of state.measurements) if (x.serviceTargetId === target.id) instance = Math.max(instance, x.instance + 1);
  return {
    serviceTargetId: target.id,
    instance,
    type: target.type,
    status: 'Attached',
    state: first,
    reason: null,
    startedAt: at,
    stoppedAt: null,
    calendarId: target.calendar ?? null,
    definitionVersion: env.defs.version,
    costPerMinute: target.costPerMinute ?? null,
    goal: target.goal,
    accountedTo: at,
    upMs: 0,
    downMs: 0,
    unknownMs: 0,
    downCount: 0,
    downStart: down ? at : null,
    downCounted: false,
    downIntervalMs: 0,
    expiresAt: null,
    segments: [{ state: first, startAt: at, endAt: null, businessMs: 0 }],
    segmentBase: 0,
    milestones: target.milestones.map((d) => newMilestone(d.name)),
    firings: [],
  };
}

const newMilestone = (name: string): CiMilestoneState => ({ name, fired: 0, inInterval: 0, armed: true, dueAt: null, firedAt: null });

/** The state a target gives at `at`, or unknown with the reason when its conditions fail to evaluate. */
export function stateOf(target: CompiledCiTarget, ci: Ci, kpis: Record<string, KpiReading>, at: number): { state: CiState; invalid: string | null } {
  if (target.type === 'availability') {
    const down = target.down_!.evaluate(ci);
    if (!down.ok) return { state: 'unknown', invalid: down.reason };
    const up = target.up_!.evaluate(ci);
    if (!up.ok) return { state: 'unknown', invalid: up.reason };
    return { state: down.value ? 'down' : up.value ? 'up' : 'unknown', invalid: null };
  }
  const afterMs = target.missingData.after * 1000;
  const lastValue = target.missingData.treatAs === 'lastValue';
  const current: Record<string, KpiValue> = {};
  for (const name in kpis) {
    const r = kpis[name]!;
    if (r.at <= at && (lastValue || r.at + afterMs > at)) current[name] = r.value;
  }
  let missing = false;
  let exprState: PerformanceState | null = null;
  if (target.alarm_ || target.warning_) {
    const alarm = target.alarm_ ? target.alarm_.evaluate(current) : null;
    if (alarm && !alarm.ok && alarm.missing === null) return { state: 'unknown', invalid: alarm.reason };
    const warning = target.warning_ ? target.warning_.evaluate(current) : null;
    if (warning && !warning.ok && warning.missing === null) return { state: 'unknown', invalid: warning.reason };
    if (alarm?.ok && alarm.value) exprState = 'alarm';
    else if ((alarm && !alarm.ok) || (warning && !warning.ok)) missing = true;
    else exprState = warning?.ok && warning.value ? 'warning' : 'ok';
  }
  let statusState: PerformanceState | null = null;
  if (target.statusKpi !== undefined) {
    const v = current[target.statusKpi];
    if (v === undefined) missing = true;
    else if (typeof v === 'number') return { state: 'unknown', invalid: `status KPI ${target.statusKpi} holds a number (${v}), not OK, Warning, Alarm or Offline` };
    else statusState = v === 'OK' ? 'ok' : v === 'WARNING' ? 'warning' : v === 'ALARM' ? 'alarm' : 'unknown';
  }
  let result: PerformanceState;
  if (missing && exprState !== 'alarm' && statusState !== 'alarm') {
    const t = target.missingData.treatAs;
    result = t === 'ok' ? 'ok' : t === 'alarm' ? 'alarm' : 'unknown';
  } else result = worst(exprState, statusState);
  return { state: result, invalid: null };
}

const RANK: Record<PerformanceState, number> = { ok: 0, warning: 1, unknown: 2, alarm: 3 };
function worst(a: PerformanceState | null, b: PerformanceState | null): PerformanceState {
  if (a === null) return b ?? 'unknown';
  if (b === null) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/** The first instant after `at` at which a current KPI value goes stale. */
function expiryAfter(kpis: Record<string, KpiReading>, at: number, afterMs: number): number | null {
  let best: number | null = null;
  for (const name in kpis) {
    const end = kpis[name]!.at + afterMs;
    if (end > at && (best === null || end < best)) best = end;
  }
  return best;
}

/** Counts business time in the current state up to `t`. */
export function accountTo(m: CiMeasurement, t: number, cal: BusinessTime): void {
  if (t <= m.accountedTo || !isOpenCi(m)) return;
  const d = cal.diffMs(m.accountedTo, t);
  m.accountedTo = t;
  if (d <= 0) return;
  if (isDown(m.state)) {
    m.downMs += d;
    m.downIntervalMs += d;
    if (!m.downCounted) {
      m.downCount++;
      m.downCounted = true;
    }
  } else if (isUp(m.state)) m.upMs += d;
  else m.unknownMs += d;
  m.segments[m.segments.length - 1]!.businessMs += d;
}

/** Moves an accounted measurement to `next` at `at` (a new segment when the state changes). */
function moveTo(m: CiMeasurement, next: CiState, invalid: string | null, at: number): void {
  m.reason = invalid;
  if (invalid !== null) m.status = 'Invalid';
  else if (m.status === 'Invalid' || (m.status === 'Attached' && next !== 'unknown')) m.status = 'InProcess';
  if (next === m.state) return;
  const segs = m.segments;
  const last = segs[segs.length - 1]!;
  if (last.startAt === at && last.businessMs === 0) {
    // A state that lasted no time (two changes at one instant) is replaced, not recorded.
    if (segs.length > 1 && segs[segs.length - 2]!.state === next) {
      segs.pop();
      segs[segs.length - 1]!.endAt = null;
      m.state = next; // the down interval it continues was never reset
      return;
    }
    last.state = next;
  } else {
    last.endAt = at;
    segs.push({ state: next, startAt: at, endAt: null, businessMs: 0 });
  }
  const wasDown = isDown(m.state);
  m.state = next;
  if (isDown(next) && !wasDown) {
    m.downStart = at;
    m.downCounted = false;
    m.downIntervalMs = 0;
    for (const s of m.milestones) s.inInterval = 0;
  } else if (!isDown(next)) m.downStart = null;
}

function detachCi(m: CiMeasurement, at: number, reason: string | null): void {
  m.segments[m.segments.length - 1]!.endAt = at;
  m.status = 'Detached';
  m.stoppedAt = at;
  m.expiresAt = null;
  if (reason) m.reason = reason;
  m.downStart = null;
  for (const s of m.milestones) s.dueAt = null;
}

// ── milestones and timers ──────────────────────────────────────────────────────────────────────

function refreshMilestones(m: CiMeasurement, target: CompiledCiTarget, cal: BusinessTime): void {
  const defs = target.compiledMilestones;
  for (let i = 0; i < m.milestones.length; i++) {
    const s = m.milestones[i]!;
    const d = findMilestone(defs, s.name);
    s.dueAt = d ? milestoneDue(m, s, d, cal) : null;
  }
}

function findMilestone(defs: CompiledCiMilestone[], name: string): CompiledCiMilestone | undefined {
  for (let i = 0; i < defs.length; i++) if (defs[i]!.name === name) return defs[i];
  return undefined;
}

function milestoneDue(m: CiMeasurement, s: CiMilestoneState, d: CompiledCiMilestone, cal: BusinessTime): number | null {
  const at = d.at;
  const t = m.accountedTo;
  if ('availabilityBelow' in at) {
    const p = at.availabilityBelow;
    if (!s.armed && (m.upMs + m.downMs === 0 || (100 * m.upMs) / (m.upMs + m.downMs) >= p)) s.armed = true;
    if (!s.armed || !isDown(m.state)) return null;
    const threshold = Math.floor(((100 - p) * m.upMs) / p) + 1; // down > (100 − p)·up / p  ⇔  up / (up + down) < p %
    return cal.addMs(t, Math.max(0, threshold - m.downMs));
  }
  if ('downCount' in at) {
    if (s.fired > 0) return null;
    if (m.downCount >= at.downCount) return t;
    if (isDown(m.state) && !m.downCounted && m.downCount + 1 >= at.downCount) return cal.addMs(t, 1);
    return null;
  }
  if (!isDown(m.state)) return null;
  const every = d.repeat ? d.repeat.every * 1000 : 0;
  if (s.inInterval > 0 && (!d.repeat || (d.repeat.times !== undefined && s.inInterval > d.repeat.times))) return null;
  const threshold = at.downFor * 1000 + s.inInterval * every;
  return cal.addMs(t, Math.max(0, threshold - m.downIntervalMs));
}

function timerOf(m: CiMeasurement): { at: number; kind: number } | null {
  if (!isOpenCi(m)) return null;
  let best: { at: number; kind: number } | null = null;
  for (let i = 0; i < m.milestones.length; i++) {
    const due = m.milestones[i]!.dueAt;
    if (due !== null && (best === null || due < best.at)) best = { at: due, kind: i };
  }
  if (m.expiresAt !== null && (best === null || m.expiresAt < best.at)) best = { at: m.expiresAt, kind: -1 };
  return best;
}

function advanceTo(state: CiEngineState, env: EngineEnv, until: number, effects: CiActionEffect[]): void {
  for (let guard = 0; guard < 1_000_000; guard++) {
    let pick: { m: CiMeasurement; at: number; kind: number } | null = null;
    for (const m of state.measurements) {
      const t = timerOf(m);
      if (t && t.at <= until && (pick === null || t.at < pick.at || (t.at === pick.at && pick.kind === -1 && t.kind >= 0))) pick = { m, ...t };
    }
    if (!pick) return;
    const { m, at, kind } = pick;
    const target = findTarget(env, m.serviceTargetId);
    const cal = env.calendar(m.calendarId);
    accountTo(m, at, cal);
    if (!target) {
      m.expiresAt = null;
      if (kind >= 0) m.milestones[kind]!.dueAt = null;
      continue;
    }
    if (kind === -1) {
      // A KPI value went stale: the performance targets read the CI's values again at this instant.
      m.expiresAt = null;
      evaluate(state, env, at, effects, 'kpi');
      continue;
    }
    const before = state.ci;
    fire(state, m, target, m.milestones[kind]!, at, effects);
    refreshMilestones(m, target, cal);
    if (state.ci !== before) evaluate(state, env, at, effects, 'ci');
    else fireDue(state, env, at, effects);
  }
  throw new Error('CI timer loop did not settle');
}

/** Fires the milestones due at `at` itself (reached by a change, not by time). */
function fireDue(state: CiEngineState, env: EngineEnv, at: number, effects: CiActionEffect[]): void {
  for (let guard = 0; guard < 1000; guard++) {
    let fired = false;
    for (const m of state.measurements) {
      if (!isOpenCi(m)) continue;
      const target = findTarget(env, m.serviceTargetId);
      if (!target) continue;
      for (const s of m.milestones) {
        if (s.dueAt !== null && s.dueAt <= at) {
          fire(state, m, target, s, at, effects);
          refreshMilestones(m, target, env.calendar(m.calendarId));
          fired = true;
        }
      }
    }
    if (!fired) return;
  }
}

function fire(state: CiEngineState, m: CiMeasurement, target: CompiledCiTarget, s: CiMilestoneState, at: number, effects: CiActionEffect[]): void {
  const d = findMilestone(target.compiledMilestones, s.name);
  const dueAt = s.dueAt ?? at;
  s.dueAt = null;
  if (!d) return;
  s.fired++;
  s.inInterval++;
  s.firedAt = at;
  if ('availabilityBelow' in d.at) s.armed = false;
  const ci = state.ci ?? { id: state.ciId };
  const cond = d.if_.evaluate(ci);
  const skipped = !cond.ok ? `if: ${cond.reason}` : !cond.value ? 'if was false' : null;
  const firing: CiFiring = { milestone: s.name, occurrence: s.fired, dueAt, firedAt: at, skipped, actions: [] };
  m.firings.push(firing);
  if (skipped) return;
  d.actions.forEach((action, i) => {
    firing.actions.push({ status: 'pending', detail: null });
    if ('setField' in action) {
      // The CI changes at the firing instant; every condition is evaluated again.
      state.ci = { ...ci, ...(action.setField as Record<string, never>), id: ci.id };
      firing.actions[i] = { status: 'done', detail: 'set on the CI' };
      return;
    }
    effects.push({
      key: `ci:${state.ciId}|${ciTargetKey(m)}|${s.name}|${s.fired}|${i}`,
      ciId: state.ciId,
      serviceTargetId: m.serviceTargetId,
      milestone: s.name,
      occurrence: s.fired,
      actionIndex: i,
      dueAt,
      firedAt: at,
      action,
      ci: state.ci ?? ci,
    });
  });
}

/** Whether `m`'s time so far keeps its goal. */
export function goalMet(m: CiMeasurement): boolean | null {
  const g = m.goal;
  if ('availability' in g) return m.upMs + m.downMs > 0 ? 100 * m.upMs >= g.availability * (m.upMs + m.downMs) : null;
  if ('maxDownTime' in g) return m.downMs <= g.maxDownTime * 1000;
  return m.downCount <= g.maxDownCount;
}

// ── views ──────────────────────────────────────────────────────────────────────────────────────

export interface CiSegmentView {
  state: CiState;
  startAt: string;
  endAt: string | null;
  businessSeconds: number;
}

/** A CI measurement as `slm replay`, `slm ci show --json` and the API print it (DESIGN §4.7). */
export interface CiMeasurementView {
  ciId: string;
  serviceTargetId: string;
  type: 'availability' | 'performance';
  status: CiStatus;
  state: CiState;
  startedAt: string;
  stoppedAt: string | null;
  upSeconds: number;
  downSeconds: number;
  unknownSeconds: number;
  downCount: number;
  /** up / (up + down) in percent; null before any up or down time. */
  availability: number | null;
  goal: CiGoalDefinition;
  /** Whether the time so far keeps the goal (availability ≥ goal, down time or count within the limit); null before any up or down time for an availability goal. */
  goalMet: boolean | null;
  impactCost: number | null;
  reason: string | null;
  definitionVersion: string;
  segments: CiSegmentView[];
  /** Segments before those listed (a long-lived run keeps only recent ones; `slm ci show` adds the stored ones). */
  earlierSegments: number;
  milestones: { name: string; dueAt: string | null; firedAt: string | null }[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const seconds = (ms: number) => Math.round(ms) / 1000;

/** The view of `m` at `now` (time counted up to `now` while it is open). */
export function toCiView(ciId: string, m: CiMeasurement, now: number, cal: BusinessTime | null): CiMeasurementView {
  let v = m;
  if (isOpenCi(m) && now > m.accountedTo && cal) {
    v = { ...m, segments: m.segments.map((s) => ({ ...s })) };
    accountTo(v, now, cal);
  }
  const total = v.upMs + v.downMs;
  return {
    ciId,
    serviceTargetId: v.serviceTargetId,
    type: v.type,
    status: v.status,
    state: v.state,
    startedAt: iso(v.startedAt)!,
    stoppedAt: iso(v.stoppedAt),
    upSeconds: seconds(v.upMs),
    downSeconds: seconds(v.downMs),
    unknownSeconds: seconds(v.unknownMs),
    downCount: v.downCount,
    availability: total > 0 ? Math.round((100_000 * v.upMs) / total) / 1000 : null,
    goal: v.goal,
    goalMet: goalMet(v),
    impactCost: v.costPerMinute === null ? null : Math.round(v.costPerMinute * (v.downMs / 60_000) * 100) / 100,
    reason: v.reason,
    definitionVersion: v.definitionVersion,
    segments: v.segments.map((s) => ({ state: s.state, startAt: iso(s.startAt)!, endAt: iso(s.endAt), businessSeconds: seconds(s.businessMs) })),
    earlierSegments: v.segmentBase,
    milestones: v.milestones.map((s) => ({ name: s.name, dueAt: iso(s.dueAt), firedAt: iso(s.firedAt) })),
  };
}

export { TWENTY_FOUR_SEVEN };
