/**
 * What compliance counts (DESIGN §4.8), derived from measurements: a request measurement's result —
 * met at its stop, missed at its due instant (MissedGoal counts as missed, seed p. 38) — and a CI
 * measurement's segments, each up, down or unknown in business time. Pure: the same facts come from a
 * run's state (`slm compliance replay`) and from stored rows (the live records and recompute).
 */
import { targetKey } from '../request/engine';
import type { Measurement } from '../request/measurement';
import type { CiMeasurement } from '../ci/engine';
import type { TicketValue } from '../ticket';

/** One request measurement as compliance sees it. */
export interface RequestFact {
  kind: 'request';
  /** `ticketId|serviceTargetId[#instance]`: one per measurement. */
  key: string;
  serviceTargetId: string;
  tenant: string | null;
  /**
   * `met` / `missed`: counted in the period holding `at`; `open`: running, and missed at `at` (its due
   * instant) if nothing else happens (the forecast counts it); null: not counted (Detached, Invalid,
   * Attached, Pending).
   */
  result: 'met' | 'missed' | 'open' | null;
  at: number | null;
  /** costPerMinute × minutes over the goal, once Missed (DESIGN §4.3); 0 otherwise. */
  impactCost: number;
}

export type CiSide = 'up' | 'down' | 'unknown';

/** One status interval of a CI measurement, numbered as stored (`seq`). */
export interface CiSegmentFact {
  seq: number;
  side: CiSide;
  start: number;
  /** Null while open. */
  end: number | null;
  /** Business milliseconds of the whole segment when closed (spares a calendar walk); null: compute. */
  businessMs: number | null;
  /** The tenant the CI carried when the segment began. */
  tenant: string | null;
}

/** One CI measurement as compliance sees it: its segments from `segments[0].seq` on. */
export interface CiFact {
  kind: 'ci';
  /** `ciId|serviceTargetId[#instance]`. */
  key: string;
  serviceTargetId: string;
  calendarId: string | null;
  segments: CiSegmentFact[];
}

export type Fact = RequestFact | CiFact;

/** A measurement's key in compliance: `subjectId|serviceTargetId[#instance]` (its ticket's or CI's id, and the engines' target key). */
export function factKey(subjectId: string, m: { serviceTargetId: string; instance?: number | undefined }): string {
  return `${subjectId}|${targetKey(m)}`;
}

/** Time in alarm counts as down; warning is still up (DESIGN §4.7). */
export function sideOf(state: string): CiSide {
  if (state === 'down' || state === 'alarm') return 'down';
  if (state === 'up' || state === 'ok' || state === 'warning') return 'up';
  return 'unknown';
}

/** The value of `field` as a tenant (strings and numbers; anything else is no tenant). */
export function tenantOf(subject: Record<string, TicketValue> | null | undefined, field: string | null | undefined): string | null {
  if (!field || !subject) return null;
  const v = subject[field];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** The fields of a measurement a request fact reads (a run's record or a stored row). */
export interface RequestFields {
  key: string;
  serviceTargetId: string;
  /** A MeasurementStatus (a stored row holds it as text). */
  status: string;
  stoppedAt: number | null;
  dueAt: number | null;
  goalReachedAt: number | null;
  impactCost: number | null;
}

/**
 * The fact of a measurement. `tenant` is the ticket's now; a result already counted keeps the tenant
 * it was counted with (`previous`): a ticket's tenant is the one it carried at its result instant.
 */
export function requestFact(m: RequestFields, tenant: string | null, previous: RequestFact | null = null): RequestFact {
  let result: RequestFact['result'] = null;
  let at: number | null = null;
  let impactCost = 0;
  switch (m.status) {
    case 'Met':
      result = 'met';
      at = m.stoppedAt;
      break;
    case 'Missed':
      result = 'missed';
      at = m.goalReachedAt ?? m.dueAt;
      impactCost = m.impactCost ?? 0;
      break;
    case 'MissedGoal':
      result = 'missed';
      at = m.goalReachedAt ?? m.dueAt;
      break;
    case 'InProcess':
      if (m.dueAt !== null) {
        result = 'open';
        at = m.dueAt;
      }
      break;
  }
  if (at === null && result !== null) result = null;
  const kept = previous && (previous.result === 'met' || previous.result === 'missed') && previous.result === result && previous.at === at ? previous.tenant : tenant;
  return { kind: 'request', key: m.key, serviceTargetId: m.serviceTargetId, tenant: kept, result, at, impactCost };
}

/** A run's measurement as a request fact (impact cost as DESIGN §4.3 computes it). */
export function requestFactOf(ticketId: string, m: Measurement, tenant: string | null, previous: RequestFact | null = null): RequestFact {
  const over = Math.max(0, m.elapsedMs - m.goalMs) / 60_000;
  return requestFact(
    {
      key: factKey(ticketId, m),
      serviceTargetId: m.serviceTargetId,
      status: m.status,
      stoppedAt: m.stoppedAt,
      dueAt: m.dueAt,
      goalReachedAt: m.goalReachedAt,
      impactCost: m.costPerMinute === null ? null : Math.round(over * m.costPerMinute * 100) / 100,
    },
    tenant,
    previous,
  );
}

/**
 * A run's CI measurement as a fact, from segment `fromSeq` on; each segment carries the tenant the CI
 * had when it began (`tenantAt`).
 */
export function ciFactOf(ciId: string, m: CiMeasurement, fromSeq: number, tenantAt: (t: number) => string | null): CiFact {
  const segments: CiSegmentFact[] = [];
  for (let i = Math.max(0, fromSeq - m.segmentBase); i < m.segments.length; i++) {
    const s = m.segments[i]!;
    segments.push({
      seq: m.segmentBase + i,
      side: sideOf(s.state),
      start: s.startAt,
      end: s.endAt,
      businessMs: s.endAt === null ? null : s.businessMs,
      tenant: tenantAt(s.startAt),
    });
  }
  return {
    kind: 'ci',
    key: `${ciId}|${m.instance ? `${m.serviceTargetId}#${m.instance}` : m.serviceTargetId}`,
    serviceTargetId: m.serviceTargetId,
    calendarId: m.calendarId,
    segments,
  };
}
