/**
 * Compliance in PostgreSQL (DESIGN §4.8): the tick that keeps the records current, and the reads of
 * `slm compliance` and the API.
 *
 * A tick is one transaction under a lock on the compliance state: it takes the measurements saved
 * since the last tick from the change feed, turns them into facts, counts them into the compliance
 * book (loading only the records they reach and the open ones), closes the periods that ended, fires
 * milestones, books settlements in the ledger, and writes it all back. A crash anywhere before the
 * commit leaves nothing behind; a retried tick finds the same feed rows and does the same again, so a
 * penalty is settled once and a milestone fires once per record.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { BusinessCalendar } from '../domain/calendar';
import { ComplianceBook, type BookRecord, type BookState, type MilestoneEffect, type SettlementEffect } from '../domain/compliance/book';
import { complianceEnv } from '../domain/compliance/env';
import { factKey, requestFact, sideOf, type CiFact, type CiSegmentFact, type Fact, type RequestFact } from '../domain/compliance/facts';
import type { ReviewPeriod } from '../domain/compliance/agreements';
import { periodOf, type Period } from '../domain/compliance/periods';
import {
  applyContribution,
  emptyRecord,
  figuresAt,
  floorOf,
  recordKey,
  recordView,
  requestContributions,
  segmentContributions,
  statusOf,
  type ComplianceEnv,
  type ComplianceRecordView,
  type Contribution,
  type RecordAcc,
  type RecordLife,
  type Scope,
  type Tail,
} from '../domain/compliance/record';
import { compiledDefinitionsOf, parseDefinitions, type Definitions } from '../domain/definitions';
import { engineEnv } from '../domain/request/engine';
import type { Db } from './client';
import {
  complianceChanges,
  complianceFacts,
  compliancePoints,
  complianceRecords,
  complianceSettlements,
  complianceState,
  definitions,
  measurementSegments,
  measurements,
} from './schema';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The tick's own state, and the book's that outlives a tick (first facts, records made, last step). */
interface TickState extends Pick<BookState, 'firstAt' | 'spans' | 'steppedAt'> {
  /** When each agreement began to count (when it first appeared in the applied definitions). */
  definedAt: Record<string, number>;
  /** The definitions version the open records were counted with. */
  version: number;
  /** A recompute asked for (`slm compliance recompute`, `definitions apply --recompute-from`): from this instant. */
  recomputeFrom: number | null;
}

const emptyTick = (): TickState => ({ definedAt: {}, firstAt: {}, spans: {}, version: 0, recomputeFrom: null });

export interface TickResult {
  /** Milestone actions to carry out (each with its idempotency key). */
  actions: MilestoneEffect[];
  settlements: SettlementEffect[];
  /** The next instant time alone changes something (a period end, a forecast crossing); null: none. */
  nextWake: number | null;
  /** Measurements counted by this tick. */
  counted: number;
  /** Open records by status, for the workflow's search attributes. */
  breached: string[];
  atRisk: string[];
}

export interface CurrentDefinitions {
  version: number;
  defs: Definitions;
}

/**
 * The last document parsed, by version and digest (a version's document never changes, and ticks come
 * up to ten times a second; the digest tells apart two databases one process may open).
 */
let parsed: (CurrentDefinitions & { digest: string }) | null = null;

/** The definitions in force, parsed (older documents lack the compliance sections), with their version. */
export async function definitionsOf(tx: Tx | Db): Promise<CurrentDefinitions> {
  const [row] = await tx.select({ version: definitions.version, digest: definitions.digest }).from(definitions).orderBy(desc(definitions.version)).limit(1);
  const version = row?.version ?? 0;
  const digest = row?.digest ?? '';
  if (parsed?.version !== version || parsed.digest !== digest) {
    const [full] = version ? await tx.select({ body: definitions.body }).from(definitions).where(eq(definitions.version, version)) : [];
    parsed = { version, digest, defs: parseDefinitions(full?.body ?? {}) };
  }
  return { version: parsed.version, defs: parsed.defs };
}

/** When `agreementId` first appeared in the applied definitions (else `fallback`). */
async function definedAtOf(tx: Tx, agreementId: string, fallback: number): Promise<number> {
  const d = definitions;
  const [row] = await tx
    .select({ at: sql<string | null>`(extract(epoch from min(${d.appliedAt})) * 1000)::bigint::text` })
    .from(d)
    .where(sql`${d.body} -> 'agreements' @> ${JSON.stringify([{ id: agreementId }])}::jsonb`);
  return row?.at ? Number(row.at) : fallback;
}

function envFor(version: number, defs: Definitions, tick: TickState): ComplianceEnv {
  const compiled = engineEnv(compiledDefinitionsOf(String(version), defs), (cal) => BusinessCalendar.fromSpec(cal));
  return complianceEnv(
    defs,
    (id) => compiled.calendar(id),
    (id) => tick.definedAt[id] ?? Infinity,
  );
}

interface SubjectKey {
  subjectKind: string;
  subjectId: string;
  serviceTargetId: string;
  instance: number;
}

type RecordRow = typeof complianceRecords.$inferSelect;

const toBookRecord = (row: RecordRow): BookRecord => ({ acc: row.acc as RecordAcc, life: row.life as RecordLife });

/** Request facts of stored measurements (the tenant column is already the one at the result instant). */
async function requestFactsOf(tx: Tx, keys: SubjectKey[]): Promise<Map<string, RequestFact>> {
  const out = new Map<string, RequestFact>();
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const m = measurements;
    const rows = await tx
      .select({
        id: m.subjectId,
        target: m.serviceTargetId,
        instance: m.instance,
        status: m.status,
        stoppedAt: m.stoppedAt,
        dueAt: m.dueAt,
        missedGoalAt: m.missedGoalAt,
        impactCost: m.impactCost,
        tenant: m.tenant,
      })
      .from(m)
      .where(
        and(
          eq(m.subjectKind, 'ticket'),
          sql`(${m.subjectId}, ${m.serviceTargetId}, ${m.instance}) in (${sql.join(
            batch.map((k) => sql`(${k.subjectId}, ${k.serviceTargetId}, ${k.instance})`),
            sql`, `,
          )})`,
        ),
      );
    for (const r of rows) out.set(factKey(r.id, { serviceTargetId: r.target, instance: r.instance }), rowFact(r));
  }
  return out;
}

function rowFact(r: {
  id: string;
  target: string;
  instance: number;
  status: string;
  stoppedAt: Date | null;
  dueAt: Date | null;
  missedGoalAt: Date | null;
  impactCost: number | null;
  tenant: string | null;
}): RequestFact {
  return requestFact(
    {
      key: factKey(r.id, { serviceTargetId: r.target, instance: r.instance }),
      serviceTargetId: r.target,
      status: r.status,
      stoppedAt: r.stoppedAt?.getTime() ?? null,
      dueAt: r.dueAt?.getTime() ?? null,
      goalReachedAt: r.missedGoalAt?.getTime() ?? null,
      impactCost: r.impactCost,
    },
    r.tenant,
  );
}

/** The columns of a stored segment compliance reads, and the segment fact they make. */
const segmentColumns = () => {
  const s = measurementSegments;
  return { seq: s.seq, status: s.status, startAt: s.startAt, stopAt: s.stopAt, businessMs: s.businessMs, tenant: s.tenant };
};
function segmentFact(r: { seq: number; status: string; startAt: Date; stopAt: Date | null; businessMs: number | null; tenant: string | null }): CiSegmentFact {
  return {
    seq: r.seq,
    side: sideOf(r.status),
    start: r.startAt.getTime(),
    end: r.stopAt?.getTime() ?? null,
    businessMs: r.stopAt === null ? null : r.businessMs,
    tenant: r.tenant,
  };
}

/** A CI measurement's stored segments from `fromSeq` on. */
async function storedCiFact(tx: Tx, k: SubjectKey, fromSeq: number, calendarId: string | null): Promise<CiFact> {
  const s = measurementSegments;
  const rows = await tx
    .select(segmentColumns())
    .from(s)
    .where(and(eq(s.subjectKind, 'ci'), eq(s.subjectId, k.subjectId), eq(s.serviceTargetId, k.serviceTargetId), eq(s.instance, k.instance), sql`${s.seq} >= ${fromSeq}`))
    .orderBy(asc(s.seq));
  return { kind: 'ci', key: factKey(k.subjectId, k), serviceTargetId: k.serviceTargetId, calendarId, segments: rows.map(segmentFact) };
}

/** The records `keys` names (those stored), and every open one. */
async function loadRecords(tx: Tx, keys: Set<string>): Promise<Record<string, BookRecord>> {
  const out: Record<string, BookRecord> = {};
  const r = complianceRecords;
  for (const row of await tx.select().from(r).where(eq(r.closed, false))) out[recordKey(row.scope, row.reviewPeriod as never, row.periodStart.getTime())] = toBookRecord(row);
  const wanted = [...keys].filter((k) => !out[k]);
  for (let i = 0; i < wanted.length; i += 500) {
    const batch = wanted.slice(i, i + 500).map((k) => {
      const parts = k.split('|');
      const start = Number(parts.pop());
      const kind = parts.pop()!;
      return { scope: parts.join('|'), kind, start };
    });
    const rows = await tx
      .select()
      .from(r)
      .where(
        sql`(${r.scope}, ${r.reviewPeriod}, ${r.periodStart}) in (${sql.join(
          batch.map((b) => sql`(${b.scope}, ${b.kind}, ${new Date(b.start).toISOString()}::timestamptz)`),
          sql`, `,
        )})`,
      );
    for (const row of rows) out[recordKey(row.scope, row.reviewPeriod as never, row.periodStart.getTime())] = toBookRecord(row);
  }
  return out;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * The counts of one record recomputed from the stored measurements (DESIGN §4.8), PostgreSQL doing
 * the counting: request results by target, and CI segments wholly inside the period summed by target
 * and side; the few segments that cross the period's edges are clipped here with the target's
 * calendar, as the incremental count does (the seed's four cases). Open segments are left out: they
 * are read to the instant asked, as tails. Equal to what live processing counted (tested).
 */
export async function aggregateRecord(tx: Tx | Db, env: ComplianceEnv, scope: Scope, kind: ReviewPeriod, p: Period): Promise<RecordAcc> {
  return (await recountRecord(tx, env, scope, kind, p)).acc;
}

/** `aggregateRecord`, with the instant of the first fact it counted (null: none). */
export async function recountRecord(tx: Tx | Db, env: ComplianceEnv, scope: Scope, kind: ReviewPeriod, p: Period): Promise<{ acc: RecordAcc; first: number | null }> {
  const acc = emptyRecord(scope.key, p);
  let first: number | null = null;
  const seen = (t: number) => (first = first === null ? t : Math.min(first, t));
  const lo = Math.max(p.start, floorOf(scope, kind));
  const hi = Math.min(p.end, scope.until);
  if (hi <= lo) return { acc, first };
  const requestTargets = scope.agreement.targets.map((t) => t.serviceTarget).filter((t) => env.targets.get(t)?.type === 'request');
  const ciTargets = scope.agreement.targets.map((t) => t.serviceTarget).filter((t) => env.targets.get(t)?.type !== 'request' && env.targets.has(t));
  const add = (c: Omit<Contribution, 'record' | 'scope' | 'kind' | 'start' | 'end'>) =>
    applyContribution(acc, { record: '', scope: scope.key, kind, start: p.start, end: p.end, ...c }, 1);
  const m = measurements;
  if (requestTargets.length) {
    const rows = await tx
      .select({
        target: m.serviceTargetId,
        met: sql<string>`count(*) filter (where ${m.status} = 'Met')`,
        missed: sql<string>`count(*) filter (where ${m.status} in ('Missed', 'MissedGoal'))`,
        open: sql<string>`count(*) filter (where ${m.status} = 'InProcess')`,
        cost: sql<string | null>`sum(${m.impactCost}) filter (where ${m.status} = 'Missed')`,
        first: sql<string>`(extract(epoch from min(${m.resultAt})) * 1000)::bigint::text`,
      })
      .from(m)
      .where(
        and(
          eq(m.subjectKind, 'ticket'),
          inArray(m.serviceTargetId, requestTargets),
          sql`${m.resultAt} >= ${iso(lo)}::timestamptz and ${m.resultAt} < ${iso(hi)}::timestamptz`,
          scope.tenant === null ? undefined : eq(m.tenant, scope.tenant),
        ),
      )
      .groupBy(m.serviceTargetId);
    for (const r of rows) {
      const cost = r.cost === null ? 0 : Math.round(Number(r.cost) * 100) / 100;
      add({ target: r.target, met: Number(r.met), missed: Number(r.missed), open: Number(r.open), impactCost: cost });
      seen(Number(r.first));
    }
  }
  if (ciTargets.length) {
    const s = measurementSegments;
    const base = and(
      eq(s.subjectKind, 'ci'),
      inArray(s.serviceTargetId, ciTargets),
      scope.tenant === null ? undefined : eq(s.tenant, scope.tenant),
      sql`${s.stopAt} > ${s.startAt}`,
    );
    const inside = sql`${s.startAt} >= ${iso(lo)}::timestamptz and ${s.stopAt} <= ${iso(hi)}::timestamptz`;
    // One pass, hashed by CI measurement and state (a few rows per CI), summed here by side.
    const sums = await tx
      .select({
        target: s.serviceTargetId,
        ci: s.subjectId,
        instance: s.instance,
        status: s.status,
        ms: sql<string>`coalesce(sum(${s.businessMs}), 0)`,
        outages: sql<string>`count(*) filter (where ${s.businessMs} > 0)`,
        first: sql<string>`(extract(epoch from min(${s.startAt})) * 1000)::bigint::text`,
      })
      .from(s)
      .where(and(base, inside))
      .groupBy(s.serviceTargetId, s.subjectId, s.instance, s.status);
    for (const r of sums) {
      const ms = Number(r.ms);
      const side = sideOf(r.status);
      const c = side === 'up' ? { upMs: ms } : side === 'down' ? { downMs: ms, downCount: Number(r.outages) } : {};
      add({ target: r.target, ci: factKey(r.ci, { serviceTargetId: r.target, instance: r.instance }), ...c });
      seen(Number(r.first));
    }
    // Segments over the period's edges: clipped with the calendar, exactly as they are counted live.
    const edges = await tx
      .select({ ci: s.subjectId, target: s.serviceTargetId, instance: s.instance, ...segmentColumns() })
      .from(s)
      .where(
        and(
          base,
          // Through the span index: the segments holding the period's first instant or its end (a GiST look-up, not a scan).
          sql`(tstzrange(${s.startAt}, greatest(${s.startAt}, ${s.stopAt})) @> ${iso(lo)}::timestamptz or tstzrange(${s.startAt}, greatest(${s.startAt}, ${s.stopAt})) @> ${iso(hi)}::timestamptz)`,
          sql`${s.startAt} < ${iso(hi)}::timestamptz and ${s.stopAt} > ${iso(lo)}::timestamptz and not (${inside})`,
        ),
      );
    const only: ComplianceEnv = { ...env, scopes: [scope] };
    for (const g of edges) {
      const fact = segmentFact(g);
      const key = factKey(g.ci, { serviceTargetId: g.target, instance: g.instance });
      for (const c of segmentContributions(only, key, g.target, env.targets.get(g.target)?.calendarId ?? null, fact))
        if (c.kind === kind && c.start === p.start) {
          applyContribution(acc, c, 1);
          seen(Math.max(fact.start, lo));
        }
    }
  }
  return { acc, first };
}

/** Asks the next tick to recount every record ending after `from` from the stored measurements. */
export async function requestRecompute(db: Db, from: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(complianceState).values({ id: 1, state: emptyTick() }).onConflictDoNothing();
    const [row] = await tx.select().from(complianceState).where(eq(complianceState.id, 1)).for('update');
    const st = { ...emptyTick(), ...(row!.state as TickState) };
    st.recomputeFrom = st.recomputeFrom === null ? from : Math.min(st.recomputeFrom, from);
    await tx.update(complianceState).set({ state: st }).where(eq(complianceState.id, 1));
  });
}

/** `beforeCommit` runs last inside the transaction (tests kill the connection there, as a crash between the computation and the write). */
export async function complianceTick(db: Db, at: number, opts: { beforeCommit?: (tx: Tx) => Promise<void> } = {}): Promise<TickResult> {
  return db.transaction(async (tx) => {
    await tx.insert(complianceState).values({ id: 1, state: emptyTick() }).onConflictDoNothing();
    const [row] = await tx.select().from(complianceState).where(eq(complianceState.id, 1)).for('update');
    const tick: TickState = { ...emptyTick(), ...(row!.state as Partial<TickState>) };
    const { version, defs } = await definitionsOf(tx);
    for (const a of defs.agreements) if (tick.definedAt[a.id] === undefined) tick.definedAt[a.id] = await definedAtOf(tx, a.id, at);
    const env = envFor(version, defs, tick);
    const targets = new Set(env.scopes.flatMap((s) => s.agreement.targets.map((t) => t.serviceTarget)));

    // The feed: rows of transactions that have finished (below the snapshot's xmin), taken once.
    const fed = await tx.execute<{ subject_kind: string; subject_id: string; service_target_id: string; instance: number }>(
      sql`delete from ${complianceChanges} where ${complianceChanges.tx} < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint) returning subject_kind, subject_id, service_target_id, instance`,
    );
    const seen = new Map<string, SubjectKey>();
    for (const r of fed.rows) {
      if (!targets.has(r.service_target_id)) continue;
      const k: SubjectKey = { subjectKind: r.subject_kind, subjectId: r.subject_id, serviceTargetId: r.service_target_id, instance: Number(r.instance) };
      seen.set(`${k.subjectKind}|${factKey(k.subjectId, k)}`, k);
    }
    const changed = [...seen.values()];
    const factKeys = changed.map((k) => factKey(k.subjectId, k));

    // What compliance counted of them, and every open CI segment.
    const f = complianceFacts;
    const countedRows = await tx
      .select()
      .from(f)
      .where(factKeys.length ? sql`${f.open} or ${inArray(f.factKey, factKeys)}` : eq(f.open, true));
    const requests: BookState['requests'] = {};
    const cis: BookState['cis'] = {};
    for (const r of countedRows) {
      const c = r.counted as { kind: 'request'; fact: RequestFact } | { kind: 'ci'; nextSeq: number; tail: Tail | null };
      if (c.kind === 'request') requests[r.factKey] = c.fact;
      else cis[r.factKey] = { nextSeq: c.nextSeq, tail: c.tail };
    }

    // The facts as they are now.
    const reqKeys = changed.filter((k) => k.subjectKind === 'ticket');
    const nowRequests = await requestFactsOf(tx, reqKeys);
    const facts: Fact[] = [];
    for (const k of reqKeys) {
      const key = factKey(k.subjectId, k);
      facts.push(nowRequests.get(key) ?? { kind: 'request', key, serviceTargetId: k.serviceTargetId, tenant: null, result: null, at: null, impactCost: 0 });
    }
    for (const k of changed.filter((x) => x.subjectKind === 'ci')) {
      const key = factKey(k.subjectId, k);
      facts.push(await storedCiFact(tx, k, cis[key]?.nextSeq ?? 0, env.targets.get(k.serviceTargetId)?.calendarId ?? null));
    }

    // The records these facts reach (old contributions and new), with every open one.
    const reach = new Set<string>();
    for (const fact of facts) {
      if (fact.kind === 'request') {
        const old = requests[fact.key];
        for (const c of [...(old ? requestContributions(env, old) : []), ...requestContributions(env, fact)]) reach.add(c.record);
      } else {
        for (const g of fact.segments)
          if (g.seq >= (cis[fact.key]?.nextSeq ?? 0)) for (const c of segmentContributions(env, fact.key, fact.serviceTargetId, fact.calendarId, g)) reach.add(c.record);
      }
    }
    const recompute = tick.version !== version || tick.recomputeFrom !== null;
    const rebuildFrom = Math.min(tick.recomputeFrom ?? at, at);
    // A recount (new definitions, or asked for): every period from `rebuildFrom` to now, from the store.
    const recount: { scope: Scope; kind: ReviewPeriod; p: Period; key: string }[] = [];
    if (recompute) {
      for (const scope of env.scopes)
        for (const kind of scope.agreement.reviewPeriods)
          for (
            let p = periodOf(kind, scope.agreement.timezone, Math.max(rebuildFrom, floorOf(scope, kind)));
            p.start <= at && p.start < scope.until;
            p = periodOf(kind, scope.agreement.timezone, p.end)
          ) {
            const key = recordKey(scope.key, kind, p.start);
            recount.push({ scope, kind, p, key });
            reach.add(key);
          }
    }
    let records = await loadRecords(tx, reach);
    // What each record was when loaded: only those the tick changes are written back.
    const loaded = new Map(Object.entries(records).map(([k, r]) => [k, JSON.stringify(r)]));
    const book = new ComplianceBook(env, {
      records,
      requests,
      cis,
      firstAt: tick.firstAt,
      spans: tick.spans,
      ...(tick.steppedAt !== undefined ? { steppedAt: tick.steppedAt } : {}),
    });
    for (const fact of facts) book.apply(fact);
    for (const r of recount) {
      const { acc, first } = await recountRecord(tx, env, r.scope, r.kind, r.p);
      book.setCounts(r.key, acc, first);
    }
    if (recompute) {
      tick.version = version;
      tick.recomputeFrom = null;
    }
    const effects = book.step(at);
    const nextWake = book.nextWake(at);
    records = book.state.records;

    // Write back: records, what was counted, the ledger, the tick's state.
    const tails = book.tails();
    // Records of an agreement since removed from the definitions stay as they were last written, and so
    // do those the tick did not change (reads work an open record's figures out at the instant asked).
    const rows = Object.entries(records).flatMap(([key, { acc, life }]) => {
      const scope = env.scopes.find((s) => s.key === acc.scope);
      if (!scope || loaded.get(key) === JSON.stringify(records[key])) return [];
      const doc: ComplianceRecordView = recordView(env, scope, acc, life, tails, at);
      const [agreementId, contractId] = acc.scope.split('|');
      return [
        {
          scope: acc.scope,
          reviewPeriod: acc.kind,
          periodStart: new Date(acc.start),
          periodEnd: new Date(acc.end),
          agreementId: agreementId!,
          contractId: contractId || null,
          tenant: scope.tenant,
          closed: life.closed !== null,
          percent: doc.percent,
          status: doc.status,
          acc,
          life,
          doc,
          updatedAt: new Date(),
        },
      ];
    });
    const r = complianceRecords;
    for (let i = 0; i < rows.length; i += 200) {
      await tx
        .insert(r)
        .values(rows.slice(i, i + 200))
        .onConflictDoUpdate({
          target: [r.scope, r.reviewPeriod, r.periodStart],
          set: {
            closed: sql`excluded.closed`,
            percent: sql`excluded.percent`,
            status: sql`excluded.status`,
            acc: sql`excluded.acc`,
            life: sql`excluded.life`,
            doc: sql`excluded.doc`,
            tenant: sql`excluded.tenant`,
            updatedAt: sql`excluded.updated_at`,
          },
        });
    }
    await writePoints(tx, rows, at);
    const keep = factKeys;
    const countedOut = keep.map((key) => {
      const req = book.state.requests[key];
      if (req) return { factKey: key, counted: { kind: 'request', fact: req }, open: false, drop: false };
      const ci = book.state.cis[key];
      if (ci) return { factKey: key, counted: { kind: 'ci', nextSeq: ci.nextSeq, tail: ci.tail }, open: ci.tail !== null, drop: false };
      return { factKey: key, counted: null, open: false, drop: true };
    });
    const drop = countedOut.filter((c) => c.drop).map((c) => c.factKey);
    if (drop.length) await tx.delete(f).where(inArray(f.factKey, drop));
    const put = countedOut.filter((c) => !c.drop).map(({ factKey, counted, open }) => ({ factKey, counted: counted!, open }));
    for (let i = 0; i < put.length; i += 500)
      await tx
        .insert(f)
        .values(put.slice(i, i + 500))
        .onConflictDoUpdate({ target: f.factKey, set: { counted: sql`excluded.counted`, open: sql`excluded.open` } });
    const settlements = effects.filter((e): e is SettlementEffect => e.kind === 'settlement');
    for (const s of settlements) {
      const scope = env.scopes.find((x) => x.agreement.id === s.agreementId && (x.contract?.id ?? null) === s.contractId);
      await tx
        .insert(complianceSettlements)
        .values({
          key: s.key,
          agreementId: s.agreementId,
          contractId: s.contractId,
          tenant: scope?.tenant ?? null,
          reviewPeriod: s.reviewPeriod,
          periodStart: new Date(Date.parse(s.periodStart)),
          periodEnd: new Date(Date.parse(s.periodEnd)),
          revision: s.revision,
          percent: s.percent,
          penalty: s.penalty,
          reward: s.reward,
          penaltyDelta: s.penaltyDelta,
          rewardDelta: s.rewardDelta,
          settledAt: new Date(s.at),
        })
        .onConflictDoNothing();
    }
    tick.firstAt = book.state.firstAt;
    tick.spans = book.state.spans;
    if (book.state.steppedAt !== undefined) tick.steppedAt = book.state.steppedAt;
    await tx.update(complianceState).set({ state: tick }).where(eq(complianceState.id, 1));
    await opts.beforeCommit?.(tx);

    const breached = new Set<string>();
    const atRisk = new Set<string>();
    for (const { acc, life } of Object.values(records)) {
      const scope = env.scopes.find((x) => x.key === acc.scope);
      if (life.closed || !scope) continue;
      const status = statusOf(scope.agreement, figuresAt(env, scope, acc, tails, at).percent);
      if (status === 'Breached') breached.add(scope.agreement.id);
      else if (status === 'AtRisk') atRisk.add(scope.agreement.id);
    }
    return {
      actions: effects.filter((e): e is MilestoneEffect => e.kind === 'milestone'),
      settlements,
      nextWake,
      counted: facts.length,
      breached: [...breached],
      atRisk: [...atRisk],
    };
  });
}

/**
 * The slices of a period the chart keeps a point for (the last write in a slice wins): about one an
 * hour, at least 96 (a day in quarters of an hour) and at most 720 (a month or a quarter), so a year
 * of a daily agreement keeps 35,040 points and of a monthly one 8,640.
 */
export const pointSlices = (periodMs: number) => Math.min(720, Math.max(96, Math.round(periodMs / 3_600_000)));

/** The percent of each record written, as a point of its period's chart (at `at`, held within the period). */
async function writePoints(
  tx: Tx,
  rows: { scope: string; reviewPeriod: string; periodStart: Date; periodEnd: Date; percent: number | null; tenant: string | null }[],
  at: number,
): Promise<void> {
  const points = rows.map((r) => {
    const start = r.periodStart.getTime();
    const end = r.periodEnd.getTime();
    const when = Math.min(Math.max(at, start), end);
    const slices = pointSlices(end - start);
    const slice = Math.min(slices - 1, Math.floor(((when - start) / (end - start)) * slices));
    return { scope: r.scope, reviewPeriod: r.reviewPeriod, periodStart: r.periodStart, slice, at: new Date(when), percent: r.percent, tenant: r.tenant };
  });
  const p = compliancePoints;
  for (let i = 0; i < points.length; i += 500)
    await tx
      .insert(p)
      .values(points.slice(i, i + 500))
      .onConflictDoUpdate({
        target: [p.scope, p.reviewPeriod, p.periodStart, p.slice],
        set: { at: sql`excluded.at`, percent: sql`excluded.percent`, tenant: sql`excluded.tenant` },
      });
}

/** The chart points of the records `keys` names, oldest first. */
export async function listPoints(tx: Tx, keys: { scope: string; reviewPeriod: string; periodStart: number }[]) {
  if (!keys.length) return [];
  const p = compliancePoints;
  return tx
    .select({ scope: p.scope, reviewPeriod: p.reviewPeriod, periodStart: p.periodStart, at: p.at, percent: p.percent })
    .from(p)
    .where(
      sql`(${p.scope}, ${p.reviewPeriod}, ${p.periodStart}) in (${sql.join(
        keys.map((k) => sql`(${k.scope}, ${k.reviewPeriod}, ${new Date(k.periodStart).toISOString()}::timestamptz)`),
        sql`, `,
      )})`,
    )
    .orderBy(asc(p.at));
}

// ── reads ──────────────────────────────────────────────────────────────────────────────────────

/**
 * A connection scoped to one tenant: row-level security (DESIGN §4.8) shows it only that tenant's
 * rows, whatever the query asks. `run` gets a transaction under the role slm_tenant.
 */
export async function asTenant<T>(db: Db, tenant: string | null, run: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    if (tenant !== null) {
      await tx.execute(sql`set local role slm_tenant`);
      await tx.execute(sql`select set_config('slm.tenant', ${tenant}, true)`);
    }
    return run(tx);
  });
}

/**
 * Records as they stand at `at`: the rows `tenant` may read (row-level security decides), open ones
 * read live from their counts and the open CI segments, closed ones as they closed (with amendments).
 */
export async function readRecords(db: Db, tenant: string | null, q: RecordQuery, at: number, current?: CurrentDefinitions): Promise<ComplianceRecordView[]> {
  const rows = await asTenant(db, tenant, (tx) => selectRecords(tx, q));
  if (!rows.length) return [];
  const { version, defs } = current ?? (await definitionsOf(db));
  const [st] = await db.select().from(complianceState).where(eq(complianceState.id, 1));
  const tick: TickState = { ...emptyTick(), ...((st?.state as Partial<TickState> | undefined) ?? {}) };
  const env = envFor(version, defs, tick);
  const tails: Tail[] = rows.some((r) => !r.closed)
    ? (await db.select({ counted: complianceFacts.counted }).from(complianceFacts).where(eq(complianceFacts.open, true))).flatMap((r) => {
        const c = r.counted as { tail?: Tail | null };
        return c.tail ? [c.tail] : [];
      })
    : [];
  return rows.map((row) => {
    const scope = env.scopes.find((x) => x.key === row.scope);
    // An agreement since removed from the definitions: its records as last computed.
    if (!scope) return row.doc as ComplianceRecordView;
    return recordView(env, scope, row.acc as RecordAcc, row.life as RecordLife, tails, at);
  });
}

export interface RecordQuery {
  agreementId?: string | undefined;
  reviewPeriod?: string | undefined;
  /** Only the record whose period holds this instant. */
  at?: number | undefined;
  closed?: boolean | undefined;
  limit?: number | undefined;
}

/** Stored records, newest period first. */
async function selectRecords(tx: Tx, q: RecordQuery) {
  const r = complianceRecords;
  return tx
    .select()
    .from(r)
    .where(
      and(
        q.agreementId ? eq(r.agreementId, q.agreementId) : undefined,
        q.reviewPeriod ? eq(r.reviewPeriod, q.reviewPeriod) : undefined,
        q.at !== undefined ? sql`${r.periodStart} <= ${new Date(q.at).toISOString()}::timestamptz and ${r.periodEnd} > ${new Date(q.at).toISOString()}::timestamptz` : undefined,
        q.closed !== undefined ? eq(r.closed, q.closed) : undefined,
        sql`${r.periodStart} <= now()`,
      ),
    )
    .orderBy(desc(r.periodStart), asc(r.agreementId), asc(r.contractId), asc(r.reviewPeriod))
    .limit(q.limit ?? 1000);
}

/** The settlement ledger of an agreement (close-outs and amendment deltas), oldest first. */
export async function listSettlements(tx: Tx, agreementId: string) {
  const s = complianceSettlements;
  return tx.select().from(s).where(eq(s.agreementId, agreementId)).orderBy(asc(s.periodStart), asc(s.revision));
}

/** The measurements behind a record, for its CSV export: request results and CI segments in the period. */
export async function measurementsBehind(tx: Tx, targets: string[], start: number, end: number, tenant: string | null) {
  if (!targets.length) return { requests: [], segments: [] };
  const m = measurements;
  const s = measurementSegments;
  const from = new Date(start).toISOString();
  const to = new Date(end).toISOString();
  const requests = await tx
    .select({ ticketId: m.subjectId, serviceTargetId: m.serviceTargetId, status: m.status, resultAt: m.resultAt, impactCost: m.impactCost, tenant: m.tenant })
    .from(m)
    .where(
      and(
        eq(m.subjectKind, 'ticket'),
        inArray(m.serviceTargetId, targets),
        inArray(m.status, ['Met', 'Missed', 'MissedGoal']),
        sql`${m.resultAt} >= ${from}::timestamptz and ${m.resultAt} < ${to}::timestamptz`,
        tenant === null ? undefined : eq(m.tenant, tenant),
      ),
    )
    .orderBy(asc(m.resultAt), asc(m.subjectId));
  const segments = await tx
    .select({ ciId: s.subjectId, serviceTargetId: s.serviceTargetId, state: s.status, startAt: s.startAt, stopAt: s.stopAt, businessMs: s.businessMs, tenant: s.tenant })
    .from(s)
    .where(
      and(
        eq(s.subjectKind, 'ci'),
        inArray(s.serviceTargetId, targets),
        sql`${s.startAt} < ${to}::timestamptz and (${s.stopAt} is null or ${s.stopAt} > ${from}::timestamptz)`,
        tenant === null ? undefined : eq(s.tenant, tenant),
      ),
    )
    .orderBy(asc(s.startAt), asc(s.subjectId));
  return { requests, segments };
}

export type { Tx };
