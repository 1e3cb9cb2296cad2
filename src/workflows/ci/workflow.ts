/**
 * ciWorkflow — one long-lived entity workflow per configuration item, id `ci:<ciId>` on the slm queue
 * (DESIGN §4.7). It holds the CI's latest snapshot, the KPI readings the ingest forwarded, and every
 * availability and performance measurement on it (the reducer of `domain/ci/engine.ts`, which
 * `slm replay` runs too); sleeps until the next milestone or KPI expiry; wakes on CI snapshots, KPI
 * forwards and definition edits; runs milestone actions; and writes the CI row and its segments to
 * PostgreSQL.
 *
 * Only state changes enter history: the ingest reduces KPI samples before they reach the run (see
 * `src/app/cis.ts`). Business time comes from calendar windows compiled by a local activity and
 * recorded, as for tickets.
 */
import { allHandlersFinished, condition, continueAsNew, log, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { BusinessCalendar, type CalendarWindow } from '../../domain/calendar';
import { parseCi, type Ci } from '../../domain/ci/ci';
import {
  advanceCi,
  applyCiChange,
  applyCiDefinitionsChange,
  applyKpiReadings,
  ciTargetKey,
  newCiState,
  nextCiWake,
  recordCiActionResult,
  toCiView,
  type CiActionEffect,
  type CiEngineState,
  type CiMeasurementView,
} from '../../domain/ci/engine';
import { ciHeadline, ciMilestoneAlarm, ciMilestoneEmail, ciMilestonePayload } from '../../domain/ci/notices';
import { compiledDefinitionsOf } from '../../domain/definitions';
import { engineEnv, type EngineEnv } from '../../domain/request/engine';
import {
  CI_RUN_RELEASE,
  definitionsChangedSignal,
  getCiStatusQuery,
  kpiReadingsSignal,
  upsertCiSignal,
  type CiStatusView,
  type KpiForward,
  type RejectedChange,
} from '../messages';
import { SA } from '../searchAttributes';
import { runOnWindows, widening } from '../engineStep';
import * as acts from '../ticket/proxies';
import { startActionWorkflow } from '../startAction';
import type { LoadedDefinitions } from '../ticket/types';

export interface CiWorkflowInput {
  ciId: string;
  release?: number;
  /** Search attributes are upserted only where the server has them registered. */
  searchAttributes?: boolean;
  tmfTaskQueue?: string;
  carried?: CiCarried;
}

type CiChange = { ci: Ci } | { kpis: KpiForward };

export interface CiCarried {
  engine: CiEngineState;
  inbox: CiChange[];
  windows: Record<string, CalendarWindow>;
  actions: CiActionEffect[];
  rejected: RejectedChange[];
  definitionsDirty: boolean;
}

const EMPTY_WINDOW: CalendarWindow = { from: 0, to: 0, starts: [], ends: [], offsets: [] };
/** Segments a run keeps per measurement (all of them are in PostgreSQL). */
const KEPT_SEGMENTS = 20;
const MAX_REJECTED = 20;

export async function ciWorkflow(input: CiWorkflowInput): Promise<void> {
  const c = input.carried;
  let engine: CiEngineState = c?.engine ?? newCiState(input.ciId);
  const inbox: CiChange[] = [...(c?.inbox ?? [])];
  const windows: Record<string, CalendarWindow> = { ...(c?.windows ?? {}) };
  const actions: CiActionEffect[] = [...(c?.actions ?? [])];
  const rejected: RejectedChange[] = [...(c?.rejected ?? [])];
  const results: { key: string; status: 'done' | 'failed'; detail: string | null }[] = [];
  let definitionsDirty = c?.definitionsDirty ?? false;
  let defs: LoadedDefinitions | null = null;
  let previousDefs: LoadedDefinitions | null = null;

  const reject = (reason: string) => {
    rejected.push({ at: new Date(Date.now()).toISOString(), reason });
    if (rejected.length > MAX_REJECTED) rejected.shift();
    log.warn('CI change rejected', { ciId: input.ciId, reason });
  };
  setHandler(upsertCiSignal, (raw) => {
    try {
      const ci = parseCi(raw);
      if (ci.id !== input.ciId) throw new Error(`CI id "${ci.id}" does not belong to workflow ci:${input.ciId}`);
      inbox.push({ ci });
    } catch (err) {
      reject((err as Error).message);
    }
  });
  setHandler(kpiReadingsSignal, (forwards) => {
    for (const f of Array.isArray(forwards) ? forwards : []) {
      if (f && typeof f.at === 'number' && f.readings && typeof f.readings === 'object') inbox.push({ kpis: f });
      else reject('malformed KPI forward');
    }
  });
  setHandler(definitionsChangedSignal, () => void (definitionsDirty = true));

  const envFor = (d: LoadedDefinitions): EngineEnv =>
    engineEnv(d.compiled, (cal) => BusinessCalendar.fromWindow(windows[`${d.version}:${cal.id}`] ?? EMPTY_WINDOW, `${d.version}:${cal.id}`));
  const views = (now: number): CiMeasurementView[] =>
    engine.measurements.map((m) => {
      try {
        return toCiView(engine.ciId, m, now, defs ? envFor(defs).calendar(m.calendarId) : null);
      } catch {
        return toCiView(engine.ciId, m, now, null);
      }
    });
  setHandler(getCiStatusQuery, (): CiStatusView => ({
    ci: engine.ci,
    kpis: { ...engine.kpis },
    measurements: views(Date.now()),
    rejectedChanges: [...rejected],
    pendingActions: actions.length,
  }));

  /** Installs definitions; returns the ones they replace (null when unchanged). */
  const take = (version: string, body: unknown): LoadedDefinitions | null => {
    if (body === null) return null;
    let compiled;
    try {
      compiled = compiledDefinitionsOf(version, body);
    } catch (err) {
      log.error('stored definitions rejected', { version, reason: (err as Error).message });
      if (defs) return null;
      compiled = compiledDefinitionsOf(version, {});
    }
    const previous = defs;
    defs = { version, compiled };
    return previous;
  };

  /** Runs an engine step; on a calendar window it lacks, restores the state, widens the window (recorded) and runs again. */
  const step = async (fn: () => CiActionEffect[]): Promise<void> => {
    const effects = await runOnWindows({ get: () => engine, set: (e: CiEngineState) => void (engine = e) }, fn, async (key, needed) => {
      const w = widening(key, needed, windows[key], defs, previousDefs);
      windows[key] = await acts.engine.compileCalendarWindow(w.spec, w.from, w.to);
    });
    actions.push(...effects);
  };

  const first = await acts.db.loadEngineContext(Date.now(), null);
  take(first.version, first.definitions);

  /** The latest instant the run applied (a batch, a timer, a KPI reading). */
  let lastAt = 0;

  /**
   * The batch's recorded instant and the floor its KPI readings apply from; new definitions (when
   * signalled) are applied at the instant, which is then the floor too.
   */
  async function batch(): Promise<{ now: number; floor: number }> {
    const dirty = definitionsDirty;
    definitionsDirty = false;
    if (!dirty) return acts.engine.ciBatchClock(Math.max(Date.now(), lastAt), lastAt);
    const ctx = await acts.db.loadEngineContext(Math.max(Date.now(), lastAt), defs?.version ?? null);
    const previous = take(ctx.version, ctx.definitions);
    if (previous) {
      previousDefs = previous;
      const next = defs!;
      await step(() => applyCiDefinitionsChange(engine, envFor(previous), envFor(next), ctx.now));
      previousDefs = null;
      for (const key of Object.keys(windows)) if (!key.startsWith(`${next.version}:`)) delete windows[key];
    }
    return { now: ctx.now, floor: ctx.now };
  }

  void runActions(actions, results, () => views(Date.now()), input);

  const saved = new Map<string, number>();
  let published = '';
  for (;;) {
    let changed = false;
    const wake = nextCiWake(engine);
    if (inbox.length === 0 && !definitionsDirty && results.length === 0) {
      const signalled = await condition(() => inbox.length > 0 || definitionsDirty || results.length > 0, wake === null ? undefined : Math.max(0, wake - Date.now()));
      if (!signalled && wake !== null) {
        await step(() => advanceCi(engine, envFor(defs!), wake));
        lastAt = Math.max(lastAt, wake);
        changed = true;
      }
    }
    if (inbox.length > 0 || definitionsDirty) {
      // A snapshot applies at the batch's instant; KPI readings at their own instant, kept in order
      // between the floor and the batch's instant (a collector sends an hour of samples at once).
      const { now, floor } = await batch();
      let cursor = floor;
      while (inbox.length > 0) {
        const change = inbox.shift()!;
        const at = 'ci' in change ? now : Math.min(now, Math.max(cursor, change.kpis.at));
        cursor = at;
        if ('ci' in change) await step(() => applyCiChange(engine, envFor(defs!), change.ci, at));
        else await step(() => applyKpiReadings(engine, envFor(defs!), change.kpis.readings, at));
      }
      await step(() => advanceCi(engine, envFor(defs!), now));
      lastAt = Math.max(lastAt, now);
      changed = true;
    }
    while (results.length > 0) {
      const r = results.shift()!;
      recordCiActionResult(engine, r.key, r.status, r.detail);
      changed = true;
    }
    if (changed) {
      const all = views(Date.now());
      const segments = all.flatMap((v, i) => {
        const m = engine.measurements[i]!;
        const key = ciTargetKey(m);
        // Closed segments never change: from the last one saved on (it was open then).
        const from = Math.max(m.segmentBase, (saved.get(key) ?? 1) - 1);
        return v.segments.slice(from - m.segmentBase).map((s, j) => ({ serviceTargetId: m.serviceTargetId, instance: m.instance, seq: from + j, ...s }));
      });
      await acts.db.saveCiState({ ciId: input.ciId, ci: engine.ci, kpis: engine.kpis, measurements: all, segments, rejectedChanges: [...rejected] });
      for (const m of engine.measurements) {
        saved.set(ciTargetKey(m), m.segmentBase + m.segments.length);
        // The run keeps only recent segments: the rest are stored.
        if (m.segments.length > KEPT_SEGMENTS) {
          const drop = m.segments.length - KEPT_SEGMENTS;
          m.segments.splice(0, drop);
          m.segmentBase += drop;
        }
      }
      const head = ciHeadline(all);
      const text = JSON.stringify(head);
      if (input.searchAttributes !== false && text !== published) {
        published = text;
        upsertSearchAttributes([
          { key: SA.ciId, value: input.ciId },
          { key: SA.ciState, value: head.state },
          { key: SA.down, value: head.down },
        ]);
      }
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (actions.length === 0) {
        await continueAsNew<typeof ciWorkflow>({ ...input, release: CI_RUN_RELEASE, carried: { engine, inbox, windows, actions, rejected, definitionsDirty } });
      }
    }
  }
}

/** Carries out milestone actions one after the other, each under its idempotency key. */
async function runActions(
  queue: CiActionEffect[],
  results: { key: string; status: 'done' | 'failed'; detail: string | null }[],
  views: () => CiMeasurementView[],
  input: CiWorkflowInput,
): Promise<void> {
  for (;;) {
    await condition(() => queue.length > 0);
    const e = queue[0]!;
    let status: 'done' | 'failed' = 'done';
    let detail: string | null = null;
    try {
      const a = e.action;
      const payload = ciMilestonePayload(e, views().find((v) => v.serviceTargetId === e.serviceTargetId && v.status !== 'Detached') ?? null);
      if ('notify' in a) {
        const done: string[] = [];
        if (a.notify.webhook) done.push(await acts.actions.notifyWebhook({ key: `${e.key}|webhook`, url: a.notify.webhook, payload }));
        if (a.notify.email) {
          const to = Array.isArray(a.notify.email) ? a.notify.email : [a.notify.email];
          done.push(await acts.actions.notifyEmail({ key: `${e.key}|email`, to, ...ciMilestoneEmail(payload, a.notify.subject) }));
        }
        detail = done.join('; ');
      } else if ('raiseAlarm' in a) {
        const { id } = await acts.tmf(input.tmfTaskQueue ?? 'tmf', 120).raiseAlarm(ciMilestoneAlarm(e, a.raiseAlarm));
        detail = `alarm ${id}`;
      } else if ('startWorkflow' in a) {
        detail = await startActionWorkflow(e.key, a.startWorkflow, payload);
      }
    } catch (err) {
      status = 'failed';
      detail = (err as Error).message;
      log.warn('CI milestone action failed', { ciId: input.ciId, key: e.key, reason: detail });
    }
    queue.shift();
    results.push({ key: e.key, status, detail });
  }
}
