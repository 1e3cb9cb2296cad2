/**
 * The compliance book: every record of every agreement kept incrementally, like the seed's
 * SLAComplianceHistory (p. 38) — a record is its previous value plus what changed since. A request
 * fact that changes takes its old contributions back and adds its new ones; a CI segment is added once
 * it closes, and an open one (a tail) is read to the instant asked. The result always equals a full
 * recompute from the same facts (tested as a property).
 *
 * Also the records' lives: opened for every period from the first counted fact on, closed at their
 * end instant with penalty and reward settled once, milestones fired once per record (at the forecast
 * instant a CI's outage crosses the level, not at the next recalculation), and amendments when a fact
 * reaches a closed period. Pure; the state is plain JSON.
 */
import type { ComplianceActionDefinition, ReviewPeriod } from './agreements';
import type { CiFact, Fact, RequestFact } from './facts';
import { localIso, periodOf, type Period } from './periods';
import {
  applyContribution,
  closeOut,
  crossingInstant,
  emptyRecord,
  figuresAt,
  floorOf,
  milestoneHolds,
  newLife,
  recordKey,
  recordView,
  requestContributions,
  segmentContributions,
  type ComplianceEnv,
  type ComplianceRecordView,
  type Contribution,
  type RecordAcc,
  type RecordLife,
  type Scope,
  type Tail,
} from './record';

export interface BookRecord {
  acc: RecordAcc;
  life: RecordLife;
}

export interface BookState {
  records: Record<string, BookRecord>;
  /** The request facts as counted. */
  requests: Record<string, RequestFact>;
  /** Per CI measurement: the first segment not yet counted, and the open one. */
  cis: Record<string, { nextSeq: number; tail: Tail | null }>;
  /** Per scope: the instant of its first counted fact. */
  firstAt: Record<string, number>;
  /**
   * Per scope and review period (`scope|kind`): the first and last period starts whose records exist
   * (they are contiguous). A store that loads only some records knows the others exist from this.
   */
  spans: Record<string, { first: number; last: number }>;
  /** The instant of the last step (a milestone reached between two steps fires at the instant it was reached). */
  steppedAt?: number;
}

export const emptyBook = (): BookState => ({ records: {}, requests: {}, cis: {}, firstAt: {}, spans: {} });

export interface MilestoneEffect {
  kind: 'milestone';
  /** Unique per record, milestone and action: the idempotency key. */
  key: string;
  agreementId: string;
  contractId: string | null;
  reviewPeriod: ReviewPeriod;
  periodStart: string;
  milestone: string;
  firedAt: number;
  actionIndex: number;
  action: ComplianceActionDefinition;
  record: ComplianceRecordView;
}

/** A settlement to book in the ledger: the close-out (revision 1), then each amendment's delta. */
export interface SettlementEffect {
  kind: 'settlement';
  /** agreement × contract × review period × period start × revision: booked exactly once. */
  key: string;
  agreementId: string;
  contractId: string | null;
  reviewPeriod: ReviewPeriod;
  periodStart: string;
  periodEnd: string;
  revision: number;
  percent: number | null;
  penalty: number | null;
  reward: number | null;
  penaltyDelta: number;
  rewardDelta: number;
  at: number;
}

export type ComplianceEffect = MilestoneEffect | SettlementEffect;

export class ComplianceBook {
  /** Closed records a fact reached since the last step (amendments to work out). */
  private dirty = new Set<string>();

  constructor(
    public env: ComplianceEnv,
    public state: BookState = emptyBook(),
  ) {}

  private scope(key: string): Scope | undefined {
    return this.env.scopes.find((s) => s.key === key);
  }

  tails(): Tail[] {
    const out: Tail[] = [];
    for (const k in this.state.cis) {
      const t = this.state.cis[k]!.tail;
      if (t) out.push(t);
    }
    return out;
  }

  /** While rebuilding: records ending by this instant keep their counts. */
  private floor = -Infinity;

  private contribute(cs: Contribution[], sign: 1 | -1, at: number): void {
    for (const c of cs) {
      if (c.end <= this.floor) continue;
      let r = this.state.records[c.record];
      if (!r) this.state.records[c.record] = r = { acc: emptyRecord(c.scope, { kind: c.kind, start: c.start, end: c.end }), life: newLife() };
      applyContribution(r.acc, c, sign);
      if (r.life.closed) this.dirty.add(c.record);
      if (sign > 0) this.noteFirst(c.scope, Math.max(c.start, Math.min(at, c.end - 1)));
    }
  }

  private noteFirst(scope: string, at: number): void {
    const s = this.scope(scope);
    if (!s) return;
    const t = Math.max(at, Math.min(...s.agreement.reviewPeriods.map((k) => floorOf(s, k))));
    if (this.state.firstAt[scope] === undefined || t < this.state.firstAt[scope]) this.state.firstAt[scope] = t;
  }

  /** A fact as it is now: its old contributions are taken back, its new ones added. */
  apply(f: Fact): void {
    if (f.kind === 'request') this.applyRequest(f);
    else this.applyCi(f);
  }

  private applyRequest(f: RequestFact): void {
    const old = this.state.requests[f.key];
    if (old && old.result === f.result && old.at === f.at && old.tenant === f.tenant && old.impactCost === f.impactCost) return;
    if (old) this.contribute(requestContributions(this.env, old), -1, old.at ?? 0);
    if (f.result === null) delete this.state.requests[f.key];
    else {
      this.state.requests[f.key] = f;
      this.contribute(requestContributions(this.env, f), 1, f.at ?? 0);
    }
  }

  private applyCi(f: CiFact): void {
    const st = (this.state.cis[f.key] ??= { nextSeq: 0, tail: null });
    for (const g of f.segments) {
      if (g.seq < st.nextSeq) continue;
      if (g.end !== null) {
        this.contribute(segmentContributions(this.env, f.key, f.serviceTargetId, f.calendarId, g), 1, g.start);
        st.nextSeq = g.seq + 1;
        if (st.tail?.seq === g.seq) st.tail = null;
      } else {
        st.tail = { key: f.key, seq: g.seq, target: f.serviceTargetId, calendarId: f.calendarId, side: g.side, since: g.start, tenant: g.tenant };
        for (const s of this.env.scopes)
          if (s.agreement.targets.some((t) => t.serviceTarget === f.serviceTargetId) && (s.tenant === null || s.tenant === g.tenant) && g.start < s.until)
            this.noteFirst(s.key, g.start);
      }
    }
  }

  /**
   * A record's counts replaced by a recount from the store (`aggregateRecord`): a closed record keeps
   * what it closed with and shows any difference as an amendment at the next step.
   */
  setCounts(key: string, acc: RecordAcc, firstFact: number | null): void {
    const r = this.state.records[key];
    const counted = Object.values(acc.targets).some((t) => t.met || t.missed || t.open || t.cis.length);
    if (r) {
      r.acc = acc;
      if (r.life.closed) this.dirty.add(key);
    } else if (counted) this.state.records[key] = { acc, life: newLife() };
    // A period with nothing counted gets a record only between the first counted fact and now (ensureRecords).
    if (counted && firstFact !== null) this.noteFirst(acc.scope, Math.max(acc.start, firstFact));
  }

  /** Every period of every scope from its first counted fact to the one holding `at` (only those not made yet). */
  private ensureRecords(at: number): void {
    for (const s of this.env.scopes) {
      const first = this.state.firstAt[s.key];
      if (first === undefined) continue;
      const last = Math.min(at, s.until - 1);
      for (const kind of s.agreement.reviewPeriods) {
        const k = `${s.key}|${kind}`;
        const span = this.state.spans[k];
        let from = periodOf(kind, s.agreement.timezone, Math.max(first, floorOf(s, kind))).start;
        let to = last >= from ? periodOf(kind, s.agreement.timezone, last).start : from;
        for (let p: Period = periodOf(kind, s.agreement.timezone, from); p.start <= to; p = periodOf(kind, s.agreement.timezone, p.end)) {
          if (span && p.start >= span.first && p.start <= span.last) continue;
          const key = recordKey(s.key, kind, p.start);
          if (!this.state.records[key]) this.state.records[key] = { acc: emptyRecord(s.key, p), life: newLife() };
        }
        if (span) {
          from = Math.min(from, span.first);
          to = Math.max(to, span.last);
        }
        this.state.spans[k] = { first: from, last: to };
      }
    }
  }

  /**
   * Time reaches `at`: records ending by then close (penalty and reward settled), milestones whose
   * condition holds fire, and closed records reached by a late fact are amended.
   */
  step(at: number): ComplianceEffect[] {
    this.ensureRecords(at);
    const effects: ComplianceEffect[] = [];
    const tails = this.tails();
    for (const [k, r] of this.sorted()) {
      const scope = this.scope(r.acc.scope);
      if (!scope) continue;
      if (r.life.closed) {
        if (this.dirty.has(k)) this.amend(scope, k, r, tails, at, effects);
        continue;
      }
      const when = Math.min(at, r.acc.end);
      this.fireMilestones(scope, k, r, tails, when, effects);
      if (r.acc.end <= at) {
        r.life.closed = closeOut(this.env, scope, r.acc, tails);
        effects.push(this.settlement(scope, k, r, r.life.closed.percent, r.life.closed.penalty, r.life.closed.reward, at));
      }
    }
    this.dirty.clear();
    this.state.steppedAt = Math.max(this.state.steppedAt ?? at, at);
    return effects;
  }

  private fireMilestones(scope: Scope, key: string, r: BookRecord, tails: Tail[], at: number, effects: ComplianceEffect[]): void {
    const ms = scope.agreement.milestones.filter((m) => r.life.fired[m.name] === undefined);
    if (!ms.length) return;
    const percent = figuresAt(this.env, scope, r.acc, tails, at).percent;
    let view: ComplianceRecordView | null = null;
    const since = this.state.steppedAt;
    for (const m of ms) {
      const holds = (p: number | null) => milestoneHolds(scope.agreement, m.at, p);
      if (!holds(percent)) continue;
      // Woken late (a timer runs after its instant): an outage that crossed the level since the last
      // step fires at the instant it crossed, as the forecast said.
      const crossed = since !== undefined && since < at ? crossingInstant(this.env, scope, r.acc, tails, Math.max(since, r.acc.start), holds) : null;
      const firedAt = crossed !== null && crossed <= at ? crossed : at;
      r.life.fired[m.name] = firedAt;
      view ??= recordView(this.env, scope, r.acc, r.life, tails, at);
      m.actions.forEach((action, i) =>
        effects.push({
          kind: 'milestone',
          key: `compliance|${key}|${m.name}|${i}`,
          agreementId: scope.agreement.id,
          contractId: scope.contract?.id ?? null,
          reviewPeriod: r.acc.kind,
          periodStart: localIso(r.acc.start, scope.agreement.timezone),
          milestone: m.name,
          firedAt,
          actionIndex: i,
          action,
          record: view!,
        }),
      );
    }
  }

  private amend(scope: Scope, key: string, r: BookRecord, tails: Tail[], at: number, effects: ComplianceEffect[]): void {
    const now = closeOut(this.env, scope, r.acc, tails);
    const closed = r.life.closed!;
    const same = now.percent === closed.percent && now.penalty === closed.penalty && now.reward === closed.reward;
    const prev = r.life.amended;
    const unchanged = prev !== null && prev.percent === now.percent && prev.penalty === now.penalty && prev.reward === now.reward;
    // A recount that lands on the figures already shown is not a new amendment.
    if (!unchanged) r.life.amended = same ? null : { percent: now.percent, penalty: now.penalty, reward: now.reward, at };
    const penalty = r.life.amended ? r.life.amended.penalty : closed.penalty;
    const reward = r.life.amended ? r.life.amended.reward : closed.reward;
    if ((penalty ?? 0) !== r.life.settled.penalty || (reward ?? 0) !== r.life.settled.reward) effects.push(this.settlement(scope, key, r, now.percent, penalty, reward, at));
  }

  private settlement(scope: Scope, key: string, r: BookRecord, percent: number | null, penalty: number | null, reward: number | null, at: number): SettlementEffect {
    const s = r.life.settled;
    const e: SettlementEffect = {
      kind: 'settlement',
      key: `${key}|${s.revision + 1}`,
      agreementId: scope.agreement.id,
      contractId: scope.contract?.id ?? null,
      reviewPeriod: r.acc.kind,
      periodStart: localIso(r.acc.start, scope.agreement.timezone),
      periodEnd: localIso(r.acc.end, scope.agreement.timezone),
      revision: s.revision + 1,
      percent,
      penalty,
      reward,
      penaltyDelta: (penalty ?? 0) - s.penalty,
      rewardDelta: (reward ?? 0) - s.reward,
      at,
    };
    r.life.settled = { penalty: penalty ?? 0, reward: reward ?? 0, revision: s.revision + 1 };
    return e;
  }

  /** The earliest instant after `at` at which time alone changes something: a period's end, or a milestone's forecast crossing. */
  nextWake(at: number): number | null {
    let best: number | null = null;
    const tails = this.tails();
    const consider = (t: number | null) => {
      if (t !== null && t > at && (best === null || t < best)) best = t;
    };
    for (const k in this.state.records) {
      const r = this.state.records[k]!;
      if (r.life.closed) continue;
      consider(r.acc.end);
      const scope = this.scope(r.acc.scope);
      if (!scope) continue;
      for (const m of scope.agreement.milestones) {
        if (r.life.fired[m.name] !== undefined) continue;
        consider(crossingInstant(this.env, scope, r.acc, tails, at, (p) => milestoneHolds(scope.agreement, m.at, p)));
      }
    }
    return best;
  }

  private sorted(): [string, BookRecord][] {
    const order = new Map(this.env.scopes.map((s, i) => [s.key, i]));
    const kinds = (s: Scope | undefined, kind: ReviewPeriod) => s?.agreement.reviewPeriods.indexOf(kind) ?? 0;
    return Object.entries(this.state.records)
      .filter(([, r]) => order.has(r.acc.scope))
      .sort(([, a], [, b]) => {
        const sa = order.get(a.acc.scope)!;
        const sb = order.get(b.acc.scope)!;
        if (sa !== sb) return sa - sb;
        const s = this.env.scopes[sa];
        return kinds(s, a.acc.kind) - kinds(s, b.acc.kind) || a.acc.start - b.acc.start;
      });
  }

  /** Every record that exists at `at`, closed ones included, in definition order. */
  views(at: number): ComplianceRecordView[] {
    this.ensureRecords(at);
    const tails = this.tails();
    // A running ticket due next month has made next month's record already; it shows once that month begins.
    return this.sorted()
      .filter(([, r]) => r.acc.start <= at)
      .map(([, r]) => recordView(this.env, this.scope(r.acc.scope)!, r.acc, r.life, tails, at));
  }

  /**
   * New definitions (or a recompute from `from`): the counts of every record ending after `from` are
   * rebuilt from `facts` with the new environment; records ending by `from` keep theirs. A closed
   * record whose rebuilt figures differ is amended at the next step.
   */
  rebuild(env: ComplianceEnv, facts: Iterable<Fact>, from: number): void {
    this.env = env;
    const keep: Record<string, BookRecord> = {};
    for (const [k, r] of Object.entries(this.state.records)) {
      if (r.acc.end <= from) keep[k] = r;
      else {
        keep[k] = { acc: emptyRecord(r.acc.scope, { kind: r.acc.kind, start: r.acc.start, end: r.acc.end }), life: r.life };
        if (r.life.closed) this.dirty.add(k);
      }
    }
    const old = this.state;
    this.state = { records: keep, requests: {}, cis: {}, firstAt: old.firstAt, spans: old.spans };
    this.floor = from;
    try {
      for (const f of facts) this.apply(f);
    } finally {
      this.floor = -Infinity;
    }
  }
}

/** A full recompute: a fresh book over `facts`, read at `at` (the property incremental ≡ full is tested against it). */
export function recomputeBook(env: ComplianceEnv, facts: Iterable<Fact>): ComplianceBook {
  const book = new ComplianceBook(env);
  book.rebuild(env, facts, -Infinity);
  return book;
}
