/**
 * Runs the request engine (domain/request/engine.ts, the reducer `slm replay` runs) inside a ticket run: the
 * batch's recorded instant and the definitions in force, calendar windows compiled by a local
 * activity when a step needs business time outside the recorded ones, and definition changes.
 *
 * Business time: the workflow never compiles a calendar (that reads time-zone data, which changes
 * with Node upgrades). A local activity compiles the window of open intervals a computation needs and
 * the result is recorded in history; the engine computes on it and, when a computation leaves the
 * window, the step is re-run from a copy of the state after the window is widened. A replay therefore
 * reproduces every due instant from recorded numbers.
 */
import { log } from '@temporalio/workflow';
import { compiledDefinitionsOf, type CompiledDefinitions } from '../../domain/definitions';
import { applyDefinitionsChange, type ActionEffect, type EngineEnv, type TicketEngineState } from '../../domain/request/engine';
import { runOnWindows, widening } from '../engineStep';
import * as acts from './proxies';
import type { TicketEntity } from './entity';
import type { LoadedDefinitions } from './types';

export class EngineDriver {
  constructor(private readonly t: TicketEntity) {}

  /** The definitions in force when the run starts (before any timer can fire). */
  async start(): Promise<void> {
    this.started(await this.t.local(() => acts.db.loadEngineContext(Date.now(), null)));
  }

  /** Takes the first context of the run (from `start`, or from `startRun` with the saved state). */
  started(ctx: { version: string; definitions: unknown; writesBack: boolean; tmfTimeoutSeconds?: number | null }): void {
    this.t.worker = { writesBack: ctx.writesBack, tmfTimeoutSeconds: ctx.tmfTimeoutSeconds ?? null };
    this.take(ctx.version, ctx.definitions);
  }

  /**
   * The instant this batch applies at, after applying definitions changed meanwhile. The instant is
   * the workflow clock, recorded through a local activity's result: workflow `Date.now()` alone is not
   * guaranteed to replay identically around local activities and task retries, so no business instant
   * is taken from it unrecorded. Runs of release 0.2 and earlier read the definitions' version from the
   * database with every batch; newer ones record only the clock unless a change was signalled.
   */
  async batch(): Promise<number> {
    const dirty = this.t.definitionsDirty;
    this.t.definitionsDirty = false;
    if (!dirty && this.t.since(3, 'batch-clock')) {
      const clock = await this.t.local(() => acts.engine.batchClock(Date.now()));
      this.t.worker = { writesBack: clock.writesBack, tmfTimeoutSeconds: clock.tmfTimeoutSeconds };
      return clock.now;
    }
    const ctx = await this.t.local(() => acts.db.loadEngineContext(Date.now(), this.t.defs?.version ?? null));
    this.t.worker = { writesBack: ctx.writesBack, tmfTimeoutSeconds: ctx.tmfTimeoutSeconds };
    const previous = this.take(ctx.version, ctx.definitions);
    if (previous) await this.applyDefinitions(previous, ctx.now);
    return ctx.now;
  }

  /** Compiles and installs new definitions; returns the ones they replace (null when unchanged). */
  private take(version: string, definitions: unknown): LoadedDefinitions | null {
    if (definitions === null) return null;
    let compiled: CompiledDefinitions;
    try {
      compiled = compiledDefinitionsOf(version, definitions);
    } catch (err) {
      // Definitions are validated before they are stored; a stored document that no longer
      // validates keeps the previous definitions in force instead of failing the workflow task.
      log.error('stored definitions rejected', { version, reason: (err as Error).message });
      if (this.t.defs) return null;
      compiled = compiledDefinitionsOf(version, {});
    }
    const previous = this.t.defs;
    this.t.defs = { version, compiled };
    return previous;
  }

  env(): EngineEnv {
    return this.t.envFor(this.t.defs!);
  }

  /**
   * Runs one engine step; its actions go to the action runner. When it needs business time outside
   * a recorded calendar window, the state goes back to its copy, the window is widened (a recorded
   * local activity) and the step runs again.
   */
  async run(step: () => ActionEffect[]): Promise<void> {
    const s = this.t.state;
    const effects = await runOnWindows({ get: () => s.engine, set: (e: TicketEngineState) => void (s.engine = e) }, step, (key, needed) => this.widen(key, needed));
    s.actions!.push(...effects);
  }

  private async widen(key: string, needed: number): Promise<void> {
    const { defs, previousDefs, state } = this.t;
    const w = widening(key, needed, state.windows![key], defs, previousDefs);
    state.windows![key] = await this.t.local(() => acts.engine.compileCalendarWindow(w.spec, w.from, w.to));
  }

  /** Applies new definitions from `now` on: open measurements are recomputed, final ones kept. */
  private async applyDefinitions(previous: LoadedDefinitions, now: number): Promise<void> {
    const t = this.t;
    t.previousDefs = previous;
    const next = t.defs!;
    await this.run(() => applyDefinitionsChange(t.state.engine, t.envFor(previous), t.envFor(next), now, now));
    t.previousDefs = null;
    for (const key of Object.keys(t.state.windows!)) if (!key.startsWith(`${next.version}:`)) delete t.state.windows![key];
  }
}
