/**
 * Compliance records (DESIGN §4.8): the counted facts of one agreement × contract × review period
 * (accumulators), the contributions a fact makes to them, and the record they give at an instant —
 * per-target percent, the weighted agreement percent, status, impact cost, penalty and reward, and the
 * forecast. Pure: live records, `slm compliance replay` and recompute all run these functions.
 *
 * Availability and performance targets count down from 100 (seed p. 40): percent = 100 − 100 · down /
 * (period − unknown), summed over the target's CIs, where time before a CI's first segment in the
 * period, after its last, or carrying another tenant is unknown. Segments still open (tails) count up
 * to the instant asked, so a record needs no sampling job: the seed's four cases of a segment crossing
 * the last sampled instant (p. 42) are each a clip of a tail or a closed segment to the period.
 */
import type { BusinessTime } from '../calendar';
import type { CiGoalDefinition } from '../definitions';
import { rangeFor, type AgreementDefinition, type ContractDefinition, type ReviewPeriod } from './agreements';
import type { CiSide, CiSegmentFact, RequestFact } from './facts';
import { dayStart, localIso, periodOf, type Period } from './periods';
import { statusFor, type ComplianceStatus } from './status';

/** What compliance needs of a service target. */
export interface TargetInfo {
  type: 'request' | 'availability' | 'performance';
  calendarId: string | null;
  costPerMinute: number | null;
  /** CI targets: their goal (maxDownTime / maxDownCount give 100 or 0). */
  goal: CiGoalDefinition | null;
}

/** One agreement × contract: the unit that owns records. */
export interface Scope {
  key: string;
  agreement: AgreementDefinition;
  contract: ContractDefinition | null;
  /** Only this tenant's facts count (the contract's); null: every tenant. */
  tenant: string | null;
  /** Facts before this instant are not counted (a contract's validFrom). */
  from: number;
  /**
   * When the agreement was defined: its first record is the period holding this instant (the whole
   * of it counts), so periods before it are not counted (DESIGN §4.8).
   */
  definedAt: number;
  /** Facts from this instant on are not counted (the day after a contract's validTo). */
  until: number;
}

export interface ComplianceEnv {
  scopes: Scope[];
  targets: Map<string, TargetInfo>;
  calendar(id: string | null): BusinessTime;
}

/** The scopes of an agreement list: one per agreement, with its contract when it has one. */
export function scopesOf(agreements: AgreementDefinition[], contracts: ContractDefinition[], definedAt: (agreementId: string) => number): Scope[] {
  const byId = new Map(contracts.map((c) => [c.id, c]));
  return agreements.map((a) => {
    const contract = a.contract === undefined ? null : (byId.get(a.contract) ?? null);
    return {
      key: scopeKey(a.id, contract?.id ?? null),
      agreement: a,
      contract,
      tenant: contract?.tenant ?? null,
      from: contract?.validFrom ? dayStart(contract.validFrom, a.timezone) : -Infinity,
      definedAt: definedAt(a.id),
      // validTo is the last valid day: counting ends at the following local midnight.
      until: contract?.validTo ? periodOf('daily', a.timezone, dayStart(contract.validTo, a.timezone)).end : Infinity,
    };
  });
}

export const scopeKey = (agreementId: string, contractId: string | null) => `${agreementId}|${contractId ?? ''}`;

/** The first instant a scope counts in periods of `kind`: the start of the period holding its definition, or its contract's validFrom if later. */
export function floorOf(s: Scope, kind: ReviewPeriod): number {
  const defined = Number.isFinite(s.definedAt) ? periodOf(kind, s.agreement.timezone, s.definedAt).start : s.definedAt;
  return Math.max(s.from, defined);
}

// ── accumulators ───────────────────────────────────────────────────────────────────────────────

export interface TargetAcc {
  met: number;
  missed: number;
  /** Running measurements due in the period: missed if nothing else happens (the forecast). */
  open: number;
  impactCost: number;
  upMs: number;
  downMs: number;
  downCount: number;
  /** CI measurements with a closed segment in the period (open ones are added from the tails). */
  cis: string[];
}

export interface RecordAcc {
  scope: string;
  kind: ReviewPeriod;
  start: number;
  end: number;
  targets: Record<string, TargetAcc>;
}

export const recordKey = (scope: string, kind: ReviewPeriod, start: number) => `${scope}|${kind}|${start}`;

export function emptyRecord(scope: string, p: Period): RecordAcc {
  return { scope, kind: p.kind, start: p.start, end: p.end, targets: {} };
}

const emptyTarget = (): TargetAcc => ({ met: 0, missed: 0, open: 0, impactCost: 0, upMs: 0, downMs: 0, downCount: 0, cis: [] });

/** One change to one record's target. */
export interface Contribution {
  record: string;
  scope: string;
  kind: ReviewPeriod;
  start: number;
  end: number;
  target: string;
  met?: number;
  missed?: number;
  open?: number;
  impactCost?: number;
  upMs?: number;
  downMs?: number;
  downCount?: number;
  /** A CI measurement present in the period (counted once per record). */
  ci?: string;
}

export function applyContribution(acc: RecordAcc, c: Contribution, sign: 1 | -1): void {
  const t = (acc.targets[c.target] ??= emptyTarget());
  t.met += sign * (c.met ?? 0);
  t.missed += sign * (c.missed ?? 0);
  t.open += sign * (c.open ?? 0);
  t.impactCost = Math.round((t.impactCost + sign * (c.impactCost ?? 0)) * 100) / 100;
  t.upMs += sign * (c.upMs ?? 0);
  t.downMs += sign * (c.downMs ?? 0);
  t.downCount += sign * (c.downCount ?? 0);
  if (c.ci !== undefined) {
    if (sign > 0 && !t.cis.includes(c.ci)) t.cis.push(c.ci);
    // Presence is never withdrawn: closed segments are never taken back (only recompute rebuilds).
  }
  // A target whose counts went back to nothing is as if never counted (a recount leaves none there).
  if (sign < 0 && !t.met && !t.missed && !t.open && !t.impactCost && !t.upMs && !t.downMs && !t.downCount && !t.cis.length) delete acc.targets[c.target];
}

/** Whether a fact of `tenant` counts for `scope`. */
const tenantMatches = (scope: Scope, tenant: string | null) => scope.tenant === null || scope.tenant === tenant;

/** The contributions of a request fact: one record per review period of each scope whose agreement lists its target. */
export function requestContributions(env: ComplianceEnv, f: RequestFact): Contribution[] {
  if (f.result === null || f.at === null) return [];
  const out: Contribution[] = [];
  for (const s of env.scopes) {
    if (!s.agreement.targets.some((t) => t.serviceTarget === f.serviceTargetId)) continue;
    if (!tenantMatches(s, f.tenant) || f.at >= s.until) continue;
    for (const kind of s.agreement.reviewPeriods) {
      if (f.at < floorOf(s, kind)) continue;
      const p = periodOf(kind, s.agreement.timezone, f.at);
      const c: Contribution = { record: recordKey(s.key, kind, p.start), scope: s.key, kind, start: p.start, end: p.end, target: f.serviceTargetId };
      if (f.result === 'met') c.met = 1;
      else if (f.result === 'missed') {
        c.missed = 1;
        if (f.impactCost) c.impactCost = f.impactCost;
      } else c.open = 1;
      out.push(c);
    }
  }
  return out;
}

/** The contributions of a closed CI segment, clipped to each period it overlaps (the seed's four cases, p. 42). */
export function segmentContributions(env: ComplianceEnv, factKey: string, targetId: string, calendarId: string | null, g: CiSegmentFact): Contribution[] {
  if (g.end === null) return [];
  const out: Contribution[] = [];
  const cal = env.calendar(calendarId);
  for (const s of env.scopes) {
    if (!s.agreement.targets.some((t) => t.serviceTarget === targetId) || !tenantMatches(s, g.tenant)) continue;
    for (const kind of s.agreement.reviewPeriods) {
      const from = Math.max(g.start, floorOf(s, kind));
      const to = Math.min(g.end, s.until);
      if (to <= from) continue;
      for (let p = periodOf(kind, s.agreement.timezone, from); p.start < to; p = periodOf(kind, s.agreement.timezone, p.end)) {
        const a = Math.max(from, p.start);
        const b = Math.min(to, p.end);
        const whole = a === g.start && b === g.end && g.businessMs !== null;
        const ms = whole ? g.businessMs! : cal.diffMs(a, b);
        const c: Contribution = { record: recordKey(s.key, kind, p.start), scope: s.key, kind, start: p.start, end: p.end, target: targetId, ci: factKey };
        if (g.side === 'up') c.upMs = ms;
        else if (g.side === 'down') {
          c.downMs = ms;
          if (ms > 0) c.downCount = 1;
        }
        out.push(c);
      }
    }
  }
  return out;
}

/** An open segment: counted up to the instant a record is read at. */
export interface Tail {
  key: string;
  /** The open segment's number (its tenant is kept when it closes). */
  seq: number;
  target: string;
  calendarId: string | null;
  side: CiSide;
  since: number;
  tenant: string | null;
}

// ── the record at an instant ───────────────────────────────────────────────────────────────────

export type { ComplianceStatus };

export interface TargetView {
  serviceTargetId: string;
  weight: number;
  percent: number | null;
  met: number | null;
  missed: number | null;
  upSeconds: number | null;
  downSeconds: number | null;
  unknownSeconds: number | null;
  downCount: number | null;
  impactCost: number;
}

export interface Forecast {
  /** The percent the record closes at if nothing else happens (open CI states last, running tickets due in the period miss). */
  percent: number | null;
  status: ComplianceStatus | null;
  /** While the CIs keep their current states: when the record enters At Risk, and Breached (null: not in this period). */
  atRiskAt: string | null;
  breachedAt: string | null;
}

/** A record as replay, `slm compliance show --json` and the API print it (DESIGN §4.8). */
export interface ComplianceRecordView {
  agreementId: string;
  contractId: string | null;
  reviewPeriod: ReviewPeriod;
  periodStart: string;
  periodEnd: string;
  percent: number | null;
  status: ComplianceStatus | null;
  closed: boolean;
  impactCost: number;
  penalty: number | null;
  reward: number | null;
  amendedPercent: number | null;
  /** What the amended percent would settle (null without an amendment). */
  amendedPenalty: number | null;
  amendedReward: number | null;
  /** When a late fact last changed the closed figures (null: never). */
  amendedAt: string | null;
  targets: TargetView[];
  forecast: Forecast | null;
  milestones: { name: string; firedAt: string }[];
}

/**
 * Percent figures are kept to a billionth, so a boundary like 95 is exactly 95 (not 94.99999999999),
 * while a crossing instant stays exact to the millisecond over a quarter.
 */
export const round9 = (x: number) => Math.round(x * 1e9) / 1e9;

export function statusOf(agreement: AgreementDefinition, percent: number | null): ComplianceStatus | null {
  return statusFor(agreement.compliance, percent);
}

interface Figures {
  percent: number | null;
  impactCost: number;
  targets: TargetView[];
}

/**
 * The figures of `acc` read at `at` (tails counted to `min(at, end)`); `forecastOpen` counts
 * running tickets due in the period as missed.
 */
export function figuresAt(env: ComplianceEnv, scope: Scope, acc: RecordAcc, tails: readonly Tail[], at: number, forecastOpen = false): Figures {
  const end = Math.min(at, acc.end);
  let sumW = 0;
  let sumWP = 0;
  let impact = 0;
  const targets: TargetView[] = [];
  for (const { serviceTarget, weight } of scope.agreement.targets) {
    const info = env.targets.get(serviceTarget);
    const t = acc.targets[serviceTarget] ?? emptyTarget();
    let view: TargetView;
    if (!info || info.type === 'request') {
      const missed = t.missed + (forecastOpen ? t.open : 0);
      const n = t.met + missed;
      view = {
        serviceTargetId: serviceTarget,
        weight,
        percent: n > 0 ? (100 * t.met) / n : null,
        met: t.met,
        missed,
        upSeconds: null,
        downSeconds: null,
        unknownSeconds: null,
        downCount: null,
        impactCost: t.impactCost,
      };
    } else {
      const cal = env.calendar(info.calendarId);
      let up = t.upMs;
      let down = t.downMs;
      let count = t.downCount;
      const present = new Set(t.cis);
      for (const tail of tails) {
        if (tail.target !== serviceTarget || !tenantMatches(scope, tail.tenant)) continue;
        const a = Math.max(tail.since, acc.start, floorOf(scope, acc.kind));
        const b = Math.min(end, scope.until);
        if (tail.since >= acc.end || a > b || (a === b && tail.since < acc.start)) continue;
        present.add(tail.key);
        const ms = b > a ? cal.diffMs(a, b) : 0;
        if (tail.side === 'up') up += ms;
        else if (tail.side === 'down') {
          down += ms;
          if (ms > 0) count++;
        }
      }
      const n = present.size;
      let percent: number | null = null;
      let unknown = 0;
      if (n > 0) {
        const whole = cal.diffMs(acc.start, acc.end);
        const elapsed = cal.diffMs(acc.start, Math.max(acc.start, end));
        unknown = Math.max(0, n * elapsed - up - down);
        const denominator = n * whole - unknown;
        const goal = info.goal;
        if (goal && 'maxDownTime' in goal) percent = down <= goal.maxDownTime * 1000 ? 100 : 0;
        else if (goal && 'maxDownCount' in goal) percent = count <= goal.maxDownCount ? 100 : 0;
        else percent = denominator > 0 ? 100 - (100 * down) / denominator : null;
      }
      view = {
        serviceTargetId: serviceTarget,
        weight,
        percent,
        met: null,
        missed: null,
        upSeconds: Math.round(up) / 1000,
        downSeconds: Math.round(down) / 1000,
        unknownSeconds: Math.round(unknown) / 1000,
        downCount: count,
        impactCost: info.costPerMinute === null ? 0 : Math.round(info.costPerMinute * (down / 60_000) * 100) / 100,
      };
    }
    if (view.percent !== null) {
      sumW += weight;
      sumWP += weight * view.percent;
      view.percent = round9(view.percent);
    }
    impact += view.impactCost;
    targets.push(view);
  }
  return { percent: sumW > 0 ? round9(sumWP / sumW) : null, impactCost: Math.round(impact * 100) / 100, targets };
}

/** A compliance milestone's condition on a percent. */
export function milestoneHolds(agreement: AgreementDefinition, at: 'atRisk' | 'breached' | { below: number }, percent: number | null): boolean {
  if (percent === null) return false;
  const status = statusOf(agreement, percent);
  if (at === 'atRisk') return status === 'AtRisk' || status === 'Breached';
  if (at === 'breached') return status === 'Breached';
  return percent < at.below;
}

/**
 * The first instant in `(from, acc.end]` at which `holds` becomes true while the CIs keep their
 * current states, or null. The percent only falls as time passes (down time grows, and unknown time
 * shrinks the denominator), so a bisection to the millisecond finds it.
 */
export function crossingInstant(env: ComplianceEnv, scope: Scope, acc: RecordAcc, tails: readonly Tail[], from: number, holds: (percent: number | null) => boolean): number | null {
  if (!tails.some((t) => t.side !== 'up' && scope.agreement.targets.some((x) => x.serviceTarget === t.target))) return null;
  if (holds(figuresAt(env, scope, acc, tails, from).percent)) return null;
  let lo = from;
  let hi = acc.end;
  if (!holds(figuresAt(env, scope, acc, tails, hi).percent)) return null;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(figuresAt(env, scope, acc, tails, mid).percent)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** What a record has beyond its counts: closed figures, amendment, milestones fired, settlement so far. */
export interface RecordLife {
  closed: { percent: number | null; status: ComplianceStatus | null; impactCost: number; penalty: number | null; reward: number | null; targets: TargetView[] } | null;
  amended: { percent: number | null; penalty: number | null; reward: number | null; at: number } | null;
  fired: Record<string, number>;
  /** Penalty and reward settled so far (the close-out, plus amendment deltas). */
  settled: { penalty: number; reward: number; revision: number };
}

export const newLife = (): RecordLife => ({ closed: null, amended: null, fired: {}, settled: { penalty: 0, reward: 0, revision: 0 } });

/** The record's document at `at`. */
export function recordView(env: ComplianceEnv, scope: Scope, acc: RecordAcc, life: RecordLife, tails: readonly Tail[], at: number): ComplianceRecordView {
  const a = scope.agreement;
  const zone = a.timezone;
  const base = {
    agreementId: a.id,
    contractId: scope.contract?.id ?? null,
    reviewPeriod: acc.kind,
    periodStart: localIso(acc.start, zone),
    periodEnd: localIso(acc.end, zone),
  };
  const milestones = Object.entries(life.fired)
    .sort((x, y) => x[1] - y[1])
    .map(([name, t]) => ({ name, firedAt: new Date(t).toISOString() }));
  if (life.closed) {
    return {
      ...base,
      percent: life.closed.percent,
      status: life.closed.status,
      closed: true,
      impactCost: life.closed.impactCost,
      penalty: life.closed.penalty,
      reward: life.closed.reward,
      amendedPercent: life.amended?.percent ?? null,
      amendedPenalty: life.amended ? life.amended.penalty : null,
      amendedReward: life.amended ? life.amended.reward : null,
      amendedAt: life.amended ? new Date(life.amended.at).toISOString() : null,
      targets: life.closed.targets,
      forecast: null,
      milestones,
    };
  }
  const now = figuresAt(env, scope, acc, tails, at);
  return {
    ...base,
    percent: now.percent,
    status: statusOf(a, now.percent),
    closed: false,
    impactCost: now.impactCost,
    penalty: null,
    reward: null,
    amendedPercent: null,
    amendedPenalty: null,
    amendedReward: null,
    amendedAt: null,
    targets: now.targets,
    forecast: forecastOf(env, scope, acc, tails, at),
    milestones,
  };
}

export function forecastOf(env: ComplianceEnv, scope: Scope, acc: RecordAcc, tails: readonly Tail[], at: number): Forecast {
  const a = scope.agreement;
  const closing = figuresAt(env, scope, acc, tails, acc.end, true);
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const atRisk = crossingInstant(env, scope, acc, tails, at, (p) => milestoneHolds(a, 'atRisk', p));
  const breached = crossingInstant(env, scope, acc, tails, at, (p) => milestoneHolds(a, 'breached', p));
  return { percent: closing.percent, status: statusOf(a, closing.percent), atRiskAt: iso(atRisk), breachedAt: iso(breached) };
}

/** The close-out figures of a record: read at its end, with its penalty and reward. */
export function closeOut(env: ComplianceEnv, scope: Scope, acc: RecordAcc, tails: readonly Tail[]): NonNullable<RecordLife['closed']> {
  const f = figuresAt(env, scope, acc, tails, acc.end);
  return {
    percent: f.percent,
    status: statusOf(scope.agreement, f.percent),
    impactCost: f.impactCost,
    penalty: rangeFor(scope.agreement.penalties, f.percent),
    reward: rangeFor(scope.agreement.rewards, f.percent),
    targets: f.targets,
  };
}
