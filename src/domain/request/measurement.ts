/**
 * One service target measured on one ticket (seed 002, SLM:Measurement and SLM:MeasurementChild):
 * the record, its status segments, its milestone state, and the operations the engine applies to it.
 *
 * Pure and deterministic: the ticket workflow and `slm replay` run the same code (through
 * `engine.ts`), passing instants and business time explicitly. Instants are epoch milliseconds and
 * durations milliseconds of business time inside; views show whole seconds and ISO instants.
 *
 * Records are plain JSON (they travel through workflow history and PostgreSQL) and the engine
 * mutates the copy it is given; callers that need the previous state keep a copy.
 */
import type { BusinessTime } from '../calendar';

export const MEASUREMENT_STATUSES = ['Attached', 'InProcess', 'Pending', 'MissedGoal', 'Met', 'Missed', 'Detached', 'Invalid'] as const;
export type MeasurementStatus = (typeof MEASUREMENT_STATUSES)[number];

/** One status interval (SLM:MeasurementChild): what its business time counted as. */
export interface Segment {
  status: MeasurementStatus;
  start: number;
  stop: number | null;
  businessMs: number;
  counts: 'elapsed' | 'paused' | 'none';
  /** Set on the gap a reopen or a group inheritance counts as excluded time. */
  note?: string;
  /** When a timer-driven transition (MissedGoal) was actually processed, if well after `start` (see LATE_THRESHOLD_MS). */
  ranAt?: number;
}

/**
 * A timer that runs this much after its instant (the stack was down, or a worker was stopped) records
 * when it actually ran beside the instant it was due; below it, ordinary scheduling jitter, nothing.
 */
export const LATE_THRESHOLD_MS = 10_000;

export interface ActionRecord {
  kind: 'notify' | 'setField' | 'raiseAlarm' | 'startWorkflow';
  status: 'pending' | 'done' | 'failed';
  detail: string | null;
}

/** One firing of a milestone (or its skip when its `if` was false). */
export interface Firing {
  milestone: string;
  /** 0 for the first firing, then 1, 2, … for repeats. */
  occurrence: number;
  dueAt: number;
  firedAt: number;
  skipped: string | null;
  actions: ActionRecord[];
  /** When the firing actually ran, if well after `firedAt` (LATE_THRESHOLD_MS); absent when on time. */
  ranAt?: number;
}

export interface MilestoneState {
  name: string;
  /** Occurrences handled (fired or skipped). */
  count: number;
  /** When a time-based milestone fires next; null while paused, stopped or done. */
  dueAt: number | null;
  /** Last value of a `when` condition, for its rising edge. */
  lastWhen: boolean | null;
}

export interface Measurement {
  ticketId: string;
  serviceTargetId: string;
  /**
   * 0 (or absent) for a target's first measurement on the ticket, 1, 2, … for each later one (a
   * target that detached and attached again starts a new measurement beside the old one).
   */
  instance?: number;
  definitionVersion: string;
  group: string | null;
  calendarId: string | null;
  status: MeasurementStatus;
  attachedAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  goalMs: number;
  /** Business time counted up to `accountedTo` (InProcess and running MissedGoal). */
  elapsedMs: number;
  /** Business time excluded up to `accountedTo` (Pending, and gaps of reopens and inheritance). */
  pausedMs: number;
  accountedTo: number;
  /** The instant elapsed reached the goal; fixed once reached. */
  goalReachedAt: number | null;
  /** Due instant as of the last change (see `refreshDue`). */
  dueAt: number | null;
  costPerMinute: number | null;
  reason: string | null;
  inheritedFrom: string | null;
  inheritedBy: string | null;
  segments: Segment[];
  milestones: MilestoneState[];
  firings: Firing[];
}

const FINAL: ReadonlySet<MeasurementStatus> = new Set(['Met', 'Missed']);
const RUNNING: ReadonlySet<MeasurementStatus> = new Set(['InProcess', 'MissedGoal']);

export const isFinal = (m: Measurement): boolean => FINAL.has(m.status);
export const isRunning = (m: Measurement): boolean => RUNNING.has(m.status);
/** Still measured: not final, detached or invalid. */
export const isOpen = (m: Measurement): boolean => !FINAL.has(m.status) && m.status !== 'Detached' && m.status !== 'Invalid';

function countsOf(status: MeasurementStatus): Segment['counts'] {
  if (RUNNING.has(status)) return 'elapsed';
  if (status === 'Pending') return 'paused';
  return 'none';
}

export function newMeasurement(init: {
  ticketId: string;
  serviceTargetId: string;
  definitionVersion: string;
  group: string | null;
  calendarId: string | null;
  at: number;
  goalMs: number;
  costPerMinute: number | null;
  milestones: string[];
}): Measurement {
  return {
    ticketId: init.ticketId,
    serviceTargetId: init.serviceTargetId,
    definitionVersion: init.definitionVersion,
    group: init.group,
    calendarId: init.calendarId,
    status: 'Attached',
    attachedAt: init.at,
    startedAt: null,
    stoppedAt: null,
    goalMs: init.goalMs,
    elapsedMs: 0,
    pausedMs: 0,
    accountedTo: init.at,
    goalReachedAt: null,
    dueAt: null,
    costPerMinute: init.costPerMinute,
    reason: null,
    inheritedFrom: null,
    inheritedBy: null,
    segments: [{ status: 'Attached', start: init.at, stop: null, businessMs: 0, counts: 'none' }],
    milestones: init.milestones.map((name) => ({ name, count: 0, dueAt: null, lastWhen: null })),
    firings: [],
  };
}

/** A stored record from an older release, completed with the fields it lacks. */
export function normalizeMeasurement(raw: Measurement): Measurement {
  return {
    ...raw,
    definitionVersion: raw.definitionVersion ?? '0',
    group: raw.group ?? null,
    calendarId: raw.calendarId ?? null,
    dueAt: raw.dueAt ?? null,
    inheritedFrom: raw.inheritedFrom ?? null,
    inheritedBy: raw.inheritedBy ?? null,
    segments: raw.segments ?? [],
    milestones: raw.milestones ?? [],
    firings: raw.firings ?? [],
  };
}

/** A ticket breaches its service levels while any measurement is past its goal (MissedGoal or Missed). */
export function isBreached(ms: readonly Measurement[]): boolean {
  return ms.some((m) => m.status === 'MissedGoal' || m.status === 'Missed');
}

/** The earliest due instant of a running measurement (what operators sort by); null when none runs. */
export function nextDueOf(ms: readonly Measurement[]): number | null {
  const dues = ms.filter((m) => m.status === 'InProcess' && m.dueAt !== null).map((m) => m.dueAt!);
  return dues.length ? Math.min(...dues) : null;
}

/** Brings the counters of an open measurement up to `at` in business time, without changing status. */
export function accountTo(m: Measurement, at: number, cal: BusinessTime): void {
  if (at <= m.accountedTo || !isOpen(m)) return;
  const counts = countsOf(m.status);
  if (counts !== 'none') {
    const span = cal.diffMs(m.accountedTo, at);
    if (counts === 'elapsed') m.elapsedMs += span;
    else m.pausedMs += span;
    const seg = m.segments[m.segments.length - 1];
    if (seg) seg.businessMs += span;
  }
  m.accountedTo = at;
}

/** Moves to `status` at `at` (counters already accounted): closes the open segment, opens the next. */
export function setStatus(m: Measurement, status: MeasurementStatus, at: number): void {
  if (m.status === status) return;
  const last = m.segments[m.segments.length - 1];
  if (last && last.stop === null) last.stop = at;
  m.segments.push({ status, start: at, stop: null, businessMs: 0, counts: countsOf(status) });
  m.status = status;
}

/**
 * The instant elapsed business time reached `goalMs`, read from the segments (used when the goal was
 * reached in the past: an inherited or retroactive start, or a goal lowered by an edit).
 */
export function crossingInstant(m: Measurement, goalMs: number, cal: BusinessTime): number {
  let cum = 0;
  let lastStop: number | null = null;
  for (const s of m.segments) {
    if (s.counts !== 'elapsed') continue;
    if (cum + s.businessMs >= goalMs) {
      const need = goalMs - cum;
      if (need === 0) return lastStop ?? s.start;
      return cal.addMs(s.start, need);
    }
    cum += s.businessMs;
    lastStop = s.stop ?? m.accountedTo;
  }
  return m.accountedTo;
}

/**
 * Recomputes what follows from the counters: a running measurement whose elapsed time has reached
 * the goal is MissedGoal from the instant it reached it; the due instant is projected while running.
 */
export function settle(m: Measurement, cal: BusinessTime): void {
  if (!isOpen(m)) return;
  if (m.startedAt !== null && m.status !== 'Attached') {
    if (m.elapsedMs < m.goalMs)
      m.goalReachedAt = null; // a raised goal un-reaches it
    else m.goalReachedAt ??= crossingInstant(m, m.goalMs, cal);
  }
  if (m.status === 'InProcess' && m.goalReachedAt !== null) setStatus(m, 'MissedGoal', m.accountedTo);
  if (m.status === 'MissedGoal' && m.goalReachedAt === null) setStatus(m, 'InProcess', m.accountedTo);
  refreshDue(m, cal);
}

/** The due instant as DESIGN §4.3 defines it, stored so views and timers need no calendar. */
export function refreshDue(m: Measurement, cal: BusinessTime): void {
  switch (m.status) {
    case 'InProcess':
      m.dueAt = m.goalReachedAt ?? cal.addMs(m.accountedTo, m.goalMs - m.elapsedMs);
      break;
    case 'MissedGoal':
    case 'Pending':
      m.dueAt = m.goalReachedAt;
      break;
    case 'Met':
    case 'Missed':
      break; // fixed at the stop
    default:
      m.dueAt = null;
  }
}

/** Stops the clock at `at`: Met when elapsed is within the goal (equal is Met), Missed otherwise. */
export function stop(m: Measurement, at: number, cal: BusinessTime): void {
  accountTo(m, at, cal);
  if (m.startedAt === null) m.startedAt = at;
  // Reached before this stop (an inherited or retroactive elapsed time at or past the goal, or a
  // goal lowered by an edit): the due instant stays the instant it was reached (DESIGN §4.3).
  if (m.goalReachedAt === null && m.elapsedMs >= m.goalMs && (m.elapsedMs > m.goalMs || reachedBefore(m, at))) m.goalReachedAt = crossingInstant(m, m.goalMs, cal);
  m.dueAt = m.goalReachedAt ?? (m.goalMs > m.elapsedMs ? cal.addMs(at, m.goalMs - m.elapsedMs) : at);
  m.stoppedAt = at;
  setStatus(m, m.elapsedMs <= m.goalMs ? 'Met' : 'Missed', at);
}

/** Elapsed time equal to the goal was already counted before the running segment began at `at`. */
function reachedBefore(m: Measurement, at: number): boolean {
  const last = m.segments[m.segments.length - 1];
  return m.goalMs > 0 && last !== undefined && last.start >= at && last.businessMs === 0;
}

/** Terms no longer match, or a definition went away. */
export function detach(m: Measurement, at: number, cal: BusinessTime, reason: string | null = null): void {
  accountTo(m, at, cal);
  m.stoppedAt = at;
  m.dueAt = null;
  m.reason = reason;
  setStatus(m, 'Detached', at);
  for (const ms of m.milestones) ms.dueAt = null;
}

export function invalidate(m: Measurement, at: number, reason: string, cal: BusinessTime | null): void {
  if (cal) accountTo(m, at, cal);
  m.stoppedAt = at;
  m.dueAt = null;
  m.reason = reason;
  setStatus(m, 'Invalid', at);
  for (const ms of m.milestones) ms.dueAt = null;
}

/**
 * A stopped measurement whose ticket reopened (seed p. 30): back to running with its elapsed time;
 * the closed gap counts as excluded time.
 */
export function reopen(m: Measurement, at: number, cal: BusinessTime): void {
  const gap = m.stoppedAt === null ? 0 : cal.diffMs(m.stoppedAt, at);
  const last = m.segments[m.segments.length - 1]!;
  last.businessMs = gap;
  last.counts = 'paused';
  last.note = 'reopened: the closed time counts as excluded';
  m.pausedMs += gap;
  m.accountedTo = at;
  m.stoppedAt = null;
  setStatus(m, m.goalReachedAt !== null ? 'MissedGoal' : 'InProcess', at);
}

// ── views ──────────────────────────────────────────────────────────────────────────────────────

export interface SegmentView {
  status: MeasurementStatus;
  start: string;
  stop: string | null;
  businessSeconds: number;
  counts: Segment['counts'];
  note?: string;
  /** Present only when the transition ran late: when it actually ran. */
  ranAt?: string;
}

export interface MilestoneView {
  name: string;
  dueAt: string | null;
  firedAt: string | null;
  firings: number;
}

export interface FiringView {
  milestone: string;
  occurrence: number;
  dueAt: string;
  firedAt: string;
  skipped: string | null;
  actions: ActionRecord[];
  /** Present only when the firing ran late: when it actually ran. */
  ranAt?: string;
}

/** The JSON shape of DESIGN §4.3, shared by `slm ticket show --json`, queries and replay. */
export interface MeasurementView {
  ticketId: string;
  serviceTargetId: string;
  status: MeasurementStatus;
  startedAt: string | null;
  stoppedAt: string | null;
  dueAt: string | null;
  goalSeconds: number;
  elapsedSeconds: number;
  pausedSeconds: number;
  metMissedSeconds: number;
  milestones: MilestoneView[];
  inheritedFrom?: string;
  inheritedBy?: string;
  attachedAt: string;
  missedGoalAt: string | null;
  impactCost: number | null;
  reason: string | null;
  calendar: string | null;
  group: string | null;
  definitionVersion: string;
  segments: SegmentView[];
  firings: FiringView[];
}

/** A copy of `m` as of `at` (counters brought forward without changing the record). */
export function asOf(m: Measurement, at: number, cal: BusinessTime | null): Measurement {
  if (!isOpen(m) || at <= m.accountedTo || !cal) return m;
  const copy: Measurement = { ...m, segments: m.segments.map((s) => ({ ...s })) };
  try {
    accountTo(copy, at, cal);
    return copy;
  } catch {
    return m; // outside a recorded calendar window: the last accounted values
  }
}

export function toView(m: Measurement, at: number, cal: BusinessTime | null): MeasurementView {
  const now = asOf(m, at, cal);
  const goalSeconds = Math.round(now.goalMs / 1000);
  const elapsedSeconds = Math.floor(now.elapsedMs / 1000);
  const pastDueMinutes = Math.max(0, now.elapsedMs - now.goalMs) / 60000;
  const lastFiring = new Map<string, Firing>();
  for (const f of now.firings) if (f.skipped === null) lastFiring.set(f.milestone, f);
  const view: MeasurementView = {
    ticketId: now.ticketId,
    serviceTargetId: now.serviceTargetId,
    status: now.status,
    startedAt: iso(now.startedAt),
    stoppedAt: iso(now.stoppedAt),
    dueAt: now.status === 'Detached' || now.status === 'Invalid' ? null : iso(now.dueAt),
    goalSeconds,
    elapsedSeconds,
    pausedSeconds: Math.floor(now.pausedMs / 1000),
    metMissedSeconds: goalSeconds - elapsedSeconds,
    milestones: now.milestones.map((ms) => ({
      name: ms.name,
      dueAt: iso(ms.dueAt),
      firedAt: iso(lastFiring.get(ms.name)?.firedAt ?? null),
      firings: now.firings.filter((f) => f.milestone === ms.name && f.skipped === null).length,
    })),
    attachedAt: iso(now.attachedAt)!,
    missedGoalAt: iso(now.goalReachedAt),
    impactCost: now.costPerMinute === null ? null : Math.round(pastDueMinutes * now.costPerMinute * 100) / 100,
    reason: now.reason,
    calendar: now.calendarId,
    group: now.group,
    definitionVersion: now.definitionVersion,
    segments: now.segments.map((s) => ({
      status: s.status,
      start: iso(s.start)!,
      stop: iso(s.stop),
      businessSeconds: Math.floor(s.businessMs / 1000),
      counts: s.counts,
      ...(s.note ? { note: s.note } : {}),
      ...(s.ranAt !== undefined ? { ranAt: iso(s.ranAt)! } : {}),
    })),
    firings: now.firings.map(({ ranAt, ...f }) => ({
      ...f,
      dueAt: iso(f.dueAt)!,
      firedAt: iso(f.firedAt)!,
      actions: f.actions.map((a) => ({ ...a })),
      ...(ranAt !== undefined ? { ranAt: iso(ranAt)! } : {}),
    })),
  };
  if (now.inheritedFrom) view.inheritedFrom = now.inheritedFrom;
  if (now.inheritedBy) view.inheritedBy = now.inheritedBy;
  return view;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
