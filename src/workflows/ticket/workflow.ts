/**
 * ticketWorkflow — one long-lived entity workflow per ticket, id `ticket:<ticketId>`.
 *
 * It holds the ticket's latest snapshot and every measurement on it (the engine state of
 * `domain/request/engine.ts`, the same reducer `slm replay` runs), sleeps until the earliest due instant or
 * milestone, wakes on ticket changes and definition edits, runs milestone actions, writes everything
 * to PostgreSQL (slm queue) and mirrors the ticket to SNOW as a TMF656 service problem (tmf queue).
 *
 * This function is the orchestration only: the state and its inbox live in `TicketEntity`, every
 * decision in `src/domain`, and the roles beside it here (engine driver, SNOW cycle, action runner,
 * publisher) carry the decisions out.
 */
import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, metricMeter, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { advance, applyTicketChange, newEngineState, nextWake, recordActionResult } from '../../domain/request/engine';
import { normalizeMeasurement } from '../../domain/request/measurement';
import { sysTimeMs } from '../../domain/snow/problemSync';
import { toServiceProblem, type ServiceProblemBody } from '../../domain/snow/serviceProblem';
import { parseTicketPatch, type Ticket } from '../../domain/ticket';
import { waitFor } from '../../domain/request/ticketLifecycle';
import {
  definitionsChangedSignal,
  getTicketStatusQuery,
  mergeTicketUpdate,
  remoteProblemChangedSignal,
  RUN_CONTINUING_AS_NEW,
  TICKET_RUN_RELEASE,
  upsertTicketSignal,
  upsertTicketUpdate,
} from '../messages';
import { ActionRunner } from './actionRunner';
import * as acts from './proxies';
import type { DbActivities } from './proxies';
import { EngineDriver } from './engineDriver';
import { TicketEntity } from './entity';
import { Publisher } from './publisher';
import { SnowCycle } from './snowCycle';
import { Waits } from './waits';
import type { CarriedState, TicketWorkflowInput } from './types';

/** A run that never received a ticket (its only change was refused) completes after this. */
const EMPTY_RUN_MS = 60_000;

export async function ticketWorkflow(input: TicketWorkflowInput): Promise<void> {
  const t = new TicketEntity(input);

  // Registered before the first await, so the change delivered with the start is handled at once.
  setHandler(upsertTicketSignal, (raw) => t.receiveSnapshot(raw));
  setHandler(
    upsertTicketUpdate,
    async (raw) => {
      const mine = t.queueSnapshot(raw);
      await condition(() => t.applied >= mine);
      return { ticketId: t.ticketId, measurements: t.views(Date.now()), ticket: t.state.engine.ticket };
    },
    // Runs before the update is accepted: a rejected update never enters history.
    { validator: (raw) => void (refuseWhileClosing(t), t.validTicket(raw)) },
  );
  setHandler(
    mergeTicketUpdate,
    async (raw) => {
      const mine = t.queuePatch(raw);
      await condition(() => t.applied >= mine);
      const refused = t.refusedPatches.get(mine);
      if (refused !== undefined) {
        t.refusedPatches.delete(mine);
        throw ApplicationFailure.create({ type: 'InvalidTicketChange', message: refused, nonRetryable: true });
      }
      return { ticketId: t.ticketId, measurements: t.views(Date.now()), ticket: t.state.engine.ticket };
    },
    { validator: (raw) => void (refuseWhileClosing(t), parseTicketPatch(raw, t.ticketId)) },
  );
  setHandler(remoteProblemChangedSignal, (change) => void t.remote.push(change));
  setHandler(definitionsChangedSignal, () => void (t.definitionsDirty = true));

  const engine = new EngineDriver(t);
  // The saved state (a reopen after the last run completed) and the definitions, needed before any
  // timer can fire (`slm ticket export` reads this first load as the run's definitions). Runs of
  // release 3 load both in one local activity; older runs replay their two.
  let fresh = null;
  const release = input.release ?? 0;
  if (!input.carried && release >= 3) fresh = await acts.db.startRun(input.ticketId, Date.now());
  t.load(input.carried ?? restored(input.ticketId, fresh ? fresh.saved : await acts.db.loadTicketState(input.ticketId)));
  setHandler(getTicketStatusQuery, () => t.statusView(Date.now()));
  if (fresh) engine.started(fresh);
  else await engine.start();

  const snow = new SnowCycle(t);
  const publisher = new Publisher(t);
  void new ActionRunner(t).run();
  // Release 5: SNOW calls beside the main loop (a SNOW outage holds back only SNOW); earlier runs
  // keep waiting for SNOW before each save, for their whole life.
  const snowBeside = release >= 5;
  // Release 6: one timer for the run's next instant while it stays (ticket/waits.ts).
  const waits = new Waits(release >= 6);

  let quietSince: number | null = null;
  /** The latest business instant recorded (a batch's clock or a timer's instant). */
  let lastAt: number | null = null;
  for (;;) {
    // `now` only sizes the wait; instants come from state (a timer fires at the instant it was set
    // for) or from the recorded clock of a batch. A timer runs from when the server records it, at the
    // end of the workflow task that set it; a task that saved started well before that, so the wait
    // is measured from the save's own clock: firings then land within milliseconds of their instant.
    const now = Math.max(Date.now(), publisher.savedAt);
    const wake = nextWake(t.state.engine);
    // Settled waits for SNOW too: a cycle beside the loop can settle the ticket (its problem resolved).
    const settled = t.settled() && snow.idle();
    if (settled) quietSince ??= now;
    else quietSince = null;
    const reopenEnds = quietSince === null ? null : quietSince + t.reopenWindowMs();
    publisher.details(reopenEnds);
    let waitMs = waitFor(now, wake, reopenEnds);
    // A run whose only change was refused holds no ticket: it ends instead of waiting for ever.
    const empty = t.state.engine.ticket === null && waitMs === undefined && !t.hasWorkNow() && patched('empty-run-ends');
    if (empty) waitMs = EMPTY_RUN_MS;

    let changed = false;
    if (!t.hasWorkNow()) {
      // Woken by work, or (SNOW beside) when a cycle settles or unsettles the ticket: its wait changes.
      const ready = () => t.hasWorkNow() || (snowBeside && (t.settled() && snow.idle()) !== settled);
      const signalled = await waits.until(ready, waitMs === undefined ? null : now + waitMs, now);
      if (!signalled && wake === null && (quietSince !== null || empty)) break; // reopen window passed, or nothing ever came
      if (!signalled && wake !== null) {
        // How late the timer ran against its instant (a metric: not recorded while replaying).
        metricMeter
          .createHistogram('slm_timer_lateness_seconds', 'float', 's', 'How late ticket timers (due instants, milestones) ran after their instant')
          .record(Math.max(0, Date.now() - wake) / 1000);
        // The workflow clock says when the timer actually ran: late after an outage, recorded beside its instant.
        await engine.run(() => advance(t.state.engine, engine.env(), wake, Date.now()));
        lastAt = wake;
        changed = true;
      }
    }

    if (t.inbox.length > 0 || t.definitionsDirty) {
      // Timers due at or before the batch's instant fire first, each at its own instant; then new
      // definitions, then the changes in order.
      const at = await engine.batch();
      lastAt = at;
      await engine.run(() => advance(t.state.engine, engine.env(), at, at));
      while (t.inbox.length > 0) {
        const next = t.resolveChange(t.inbox.shift()!);
        if (next) {
          snow.noteEvent(t.state.engine.ticket, next, at);
          await engine.run(() => applyTicketChange(t.state.engine, engine.env(), next, at, at));
        }
        t.applied++;
      }
      // Before the updates that sent these changes answer: the page shows what they did.
      publisher.details(null);
      changed = true;
    }
    while (t.actionResults.length > 0) {
      const r = t.actionResults.shift()!;
      recordActionResult(t.state.engine, r.key, r.status, r.detail);
      changed = true;
    }
    while (t.remote.length > 0) {
      const change = t.remote.shift()!;
      changed = snow.applyRemote(change, sysTimeMs(change.updatedOn) ?? lastAt ?? Date.now()) || changed;
    }
    // A refusal alone is saved too (so `slm ticket show` lists it after the run ends); older runs did not.
    if (changed || (t.rejectedChanged && patched('save-refused-changes'))) {
      if (snowBeside)
        await snow.syncBeside(
          lastAt ?? Date.now(),
          nextWake(t.state.engine),
          () => t.hasWorkNow(),
          () => publisher.publish(),
          waits,
        );
      else await snow.sync(lastAt ?? Date.now());
      await publisher.publish();
    }

    if (workflowInfo().continueAsNewSuggested) {
      // No new updates from here on (they go to the next run), so the ones accepted all finish.
      t.closing = true;
      // Between SNOW cycles only: a call in flight would lose its answer. Only this loop asks for a
      // cycle, so the wait ends (after the one in flight and the one asked for meanwhile, if any).
      if (!snow.idle()) await condition(() => snow.idle());
      // An update waits for its change to be applied: a change that came in meanwhile is applied in
      // the next round (waiting for the handlers alone would wait for ever). With no update waiting,
      // changes still in the inbox travel with the run (a steady stream of signals would otherwise
      // keep the run going past the suggested length).
      await condition(() => allHandlersFinished() || t.inbox.length > 0);
      if (t.inbox.length > 0 && !(allHandlersFinished() && patched('continue-as-new-with-inbox'))) continue;
      // The next run is of this code's release: it takes every behaviour this code has from its start.
      await continueAsNew<typeof ticketWorkflow>({ ...input, release: TICKET_RUN_RELEASE, carried: t.carried() });
    }
  }
  await condition(allHandlersFinished);
}

/** A validator's refusal while the run is about to continue as new (validators do not run on replay). */
function refuseWhileClosing(t: TicketEntity): void {
  if (t.closing) throw ApplicationFailure.create({ type: 'RunContinuingAsNew', message: RUN_CONTINUING_AS_NEW, nonRetryable: true });
}

/** The state saved by the ticket's last run (a reopen after the run completed), or a new ticket's. */
function restored(ticketId: string, saved: Awaited<ReturnType<DbActivities['loadTicketState']>>): CarriedState {
  const engine = newEngineState(ticketId);
  engine.ticket = saved?.ticket ?? null;
  engine.measurements = (saved?.measurements ?? []).map(normalizeMeasurement);
  return {
    engine,
    problem: saved?.problem ?? null,
    lastSent: saved?.ticket && saved.problem ? lastSentOf(saved.ticket) : null,
    lastError: saved?.lastError ?? null,
    syncClosed: saved?.syncClosed ?? false,
    rejected: saved?.rejectedChanges ?? [],
    pending: [],
  };
}

/** What was last sent for a saved ticket (null when it cannot be mapped: the next PATCH then sends everything). */
function lastSentOf(ticket: Ticket): ServiceProblemBody | null {
  try {
    return toServiceProblem(ticket);
  } catch {
    return null;
  }
}
