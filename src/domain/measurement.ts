/**
 * The request-based measurement state machine (seed 002, SLM:Measurement). Pure and deterministic:
 * the ticket workflow and `slm replay` run the same functions, passing instants explicitly.
 *
 * Time is 24×7 here (no calendar yet): elapsed business time is elapsed wall time while the clock runs.
 * All instants are epoch milliseconds; durations are whole seconds in views and milliseconds inside.
 */
import type { CompiledServiceTarget } from './definitions';
import type { ConditionResult } from './conditions';
import type { Ticket } from './ticket';

export const MEASUREMENT_STATUSES = [
  'Attached',
  'InProcess',
  'Pending',
  'MissedGoal',
  'Met',
  'Missed',
  'Detached',
  'Invalid',
] as const;
export type MeasurementStatus = (typeof MEASUREMENT_STATUSES)[number];

export interface Measurement {
  ticketId: string;
  serviceTargetId: string;
  status: MeasurementStatus;
  attachedAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  goalMs: number;
  /** Clock time counted up to `accountedTo` (InProcess and running MissedGoal). */
  elapsedMs: number;
  /** Clock time excluded up to `accountedTo` (Pending). */
  pausedMs: number;
  accountedTo: number;
  /** The instant elapsed reached the goal; fixed once reached. */
  goalReachedAt: number | null;
  costPerMinute: number | null;
  reason: string | null;
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
  missedGoalAt: string | null;
  impactCost: number | null;
  reason: string | null;
  milestones: never[];
}

const FINAL: ReadonlySet<MeasurementStatus> = new Set(['Met', 'Missed']);
const RUNNING: ReadonlySet<MeasurementStatus> = new Set(['InProcess', 'MissedGoal']);

export function isFinal(m: Measurement): boolean {
  return FINAL.has(m.status);
}

export function isOpen(m: Measurement): boolean {
  return !FINAL.has(m.status) && m.status !== 'Detached' && m.status !== 'Invalid';
}

/** Brings the counters up to `at` without changing status. */
export function accountTo(m: Measurement, at: number): Measurement {
  if (at <= m.accountedTo) return m;
  const span = at - m.accountedTo;
  if (RUNNING.has(m.status)) return { ...m, elapsedMs: m.elapsedMs + span, accountedTo: at };
  if (m.status === 'Pending') return { ...m, pausedMs: m.pausedMs + span, accountedTo: at };
  return { ...m, accountedTo: at };
}

/**
 * The instant the goal is (or will be) reached: fixed once reached, projected while running, null while
 * paused before reaching it and for Detached/Invalid/Attached measurements.
 */
export function dueAt(m: Measurement): number | null {
  if (m.goalReachedAt !== null) return m.goalReachedAt;
  if (m.status === 'Detached' || m.status === 'Invalid' || m.status === 'Attached' || m.status === 'Pending') return null;
  if (m.status === 'InProcess') return m.accountedTo + (m.goalMs - m.elapsedMs);
  // Met/Missed: the instant as projected at the stop.
  if (m.stoppedAt !== null) return m.stoppedAt + Math.max(0, m.goalMs - m.elapsedMs);
  return null;
}

/** The next instant at which time alone changes this measurement (its due date), if any. */
export function nextTimer(m: Measurement): number | null {
  return m.status === 'InProcess' ? dueAt(m) : null;
}

/** Fires the due-date timer if it is due at or before `at`: the measurement becomes MissedGoal at its own due instant. */
export function fireTimers(m: Measurement, at: number): Measurement {
  const due = nextTimer(m);
  if (due === null || due > at) return m;
  const reached = accountTo(m, due);
  return { ...reached, status: 'MissedGoal', goalReachedAt: due };
}

type Evaluated = { applies: boolean; start: boolean; stop: boolean; exclude: boolean };

function evaluateAll(target: CompiledServiceTarget, ticket: Ticket): { ok: true; value: Evaluated } | { ok: false; reason: string } {
  const out: Partial<Evaluated> = {};
  const pairs: [keyof Evaluated, ConditionResult][] = [
    ['applies', target.conditions.appliesTo.evaluate(ticket)],
    ['start', target.conditions.start.evaluate(ticket)],
    ['stop', target.conditions.stop.evaluate(ticket)],
    ['exclude', target.conditions.exclude.evaluate(ticket)],
  ];
  for (const [key, r] of pairs) {
    if (!r.ok) return { ok: false, reason: r.reason };
    out[key] = r.value;
  }
  return { ok: true, value: out as Evaluated };
}

function fresh(target: CompiledServiceTarget, ticketId: string, at: number): Measurement {
  return {
    ticketId,
    serviceTargetId: target.id,
    status: 'Attached',
    attachedAt: at,
    startedAt: null,
    stoppedAt: null,
    goalMs: target.goal.duration * 1000,
    elapsedMs: 0,
    pausedMs: 0,
    accountedTo: at,
    goalReachedAt: null,
    costPerMinute: target.costPerMinute ?? null,
    reason: null,
  };
}

/**
 * Applies a ticket snapshot at instant `at` to the measurement of `target` on that ticket (or to none).
 * Callers fire timers due at or before `at` first (see `fireTimers`). Returns the new measurement, or
 * null when the target does not attach.
 */
export function applyTicket(
  current: Measurement | null,
  target: CompiledServiceTarget,
  ticket: Ticket,
  at: number,
): Measurement | null {
  let m = current ? accountTo(current, at) : null;
  if (m && isFinal(m)) return m;

  const evaluated = evaluateAll(target, ticket);
  if (!evaluated.ok) {
    const base = m ?? fresh(target, ticket.id, at);
    return { ...base, status: 'Invalid', stoppedAt: at, reason: evaluated.reason };
  }
  const c = evaluated.value;

  if (!m || m.status === 'Detached' || m.status === 'Invalid') {
    if (!c.applies) return m;
    m = fresh(target, ticket.id, at);
  } else if (!c.applies) {
    return { ...m, status: 'Detached', stoppedAt: at };
  }

  if (m.status === 'Attached') {
    if (!c.start) return m;
    m = { ...m, status: 'InProcess', startedAt: at };
  }

  if (c.stop) {
    const status = m.elapsedMs <= m.goalMs ? 'Met' : 'Missed';
    return { ...m, status, stoppedAt: at };
  }
  if (c.exclude) return { ...m, status: 'Pending' };
  return { ...m, status: m.goalReachedAt !== null ? 'MissedGoal' : 'InProcess' };
}

/** Updates goal and cost of an open measurement after a definition edit. */
export function retarget(m: Measurement, target: CompiledServiceTarget): Measurement {
  if (!isOpen(m)) return m;
  return { ...m, goalMs: target.goal.duration * 1000, costPerMinute: target.costPerMinute ?? null };
}

export function toView(m: Measurement, at: number): MeasurementView {
  const now = isOpen(m) ? accountTo(m, at) : m;
  const due = dueAt(now);
  const metMissedMs = now.goalMs - now.elapsedMs;
  const missedMinutes = Math.max(0, -metMissedMs) / 60000;
  return {
    ticketId: now.ticketId,
    serviceTargetId: now.serviceTargetId,
    status: now.status,
    startedAt: iso(now.startedAt),
    stoppedAt: iso(now.stoppedAt),
    dueAt: now.status === 'Detached' || now.status === 'Invalid' ? null : iso(due),
    goalSeconds: Math.round(now.goalMs / 1000),
    elapsedSeconds: Math.floor(now.elapsedMs / 1000),
    pausedSeconds: Math.floor(now.pausedMs / 1000),
    metMissedSeconds: Math.round(now.goalMs / 1000) - Math.floor(now.elapsedMs / 1000),
    missedGoalAt: iso(now.goalReachedAt),
    impactCost: now.costPerMinute === null ? null : Math.round(missedMinutes * now.costPerMinute * 100) / 100,
    reason: now.reason,
    milestones: [],
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
