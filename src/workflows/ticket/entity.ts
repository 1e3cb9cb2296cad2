/**
 * A ticket run's state and the rules of its inbox, as one object (the entity of the
 * safe-message-handlers pattern): message handlers put changes in, the main loop takes them out,
 * and the roles (engine, SNOW cycle, actions, publishing) read and write it through here.
 */
import { log, patched } from '@temporalio/workflow';
import { BusinessCalendar, type CalendarWindow } from '../../domain/calendar';
import { DEFAULT_CONNECTOR, type CompiledConnector } from '../../domain/snow/connector';
import { engineEnv, type EngineEnv } from '../../domain/request/engine';
import { toView, type ActionRecord, type MeasurementView } from '../../domain/request/measurement';
import { snowSettings, ticketCloses, type SnowSettings } from '../../domain/snow/snowCycle';
import { snapshotOrder } from '../../domain/sources';
import { isClosedState, mergePatch, parseTicket, parseTicketPatch, type Ticket } from '../../domain/ticket';
import { DEFAULT_REOPEN_WINDOW_SECONDS, isSettled } from '../../domain/request/ticketLifecycle';
import type { RejectedChange, RemoteProblemChange, TicketStatusView } from '../messages';
import * as acts from './proxies';
import type { CarriedState, Change, LoadedDefinitions, TicketWorkflowInput } from './types';

const EMPTY_WINDOW: CalendarWindow = { from: 0, to: 0, starts: [], ends: [], offsets: [] };
/** Refused changes kept on the ticket. */
const MAX_REJECTED = 20;

/** Facts of the worker that runs this batch, recorded with its clock. */
export interface WorkerFacts {
  writesBack: boolean;
  tmfTimeoutSeconds?: number | null;
}

export class TicketEntity {
  readonly inbox: Change[];
  readonly rejected: RejectedChange[];
  /** Merge patches refused when applied, by their sequence number, for the update that sent them. */
  readonly refusedPatches = new Map<number, string>();
  readonly remote: RemoteProblemChange[];
  readonly actionResults: { key: string; status: ActionRecord['status']; detail: string | null }[] = [];
  /** Changes received and applied: an update waits until `applied` reaches its own number. */
  received: number;
  applied = 0;
  definitionsDirty: boolean;
  /** A refusal not yet saved to the database. */
  rejectedChanged = false;
  /** The run is about to continue as new: its update validators refuse new changes (see RUN_CONTINUING_AS_NEW). */
  closing = false;
  defs: LoadedDefinitions | null = null;
  /** The definitions being replaced, while a definitions change is applied. */
  previousDefs: LoadedDefinitions | null = null;
  worker: WorkerFacts = { writesBack: true };
  /** The engine, SNOW and action state; loaded before the first batch. */
  state!: CarriedState;

  constructor(readonly input: TicketWorkflowInput) {
    const c = input.carried;
    this.inbox = c?.pendingChanges ? [...c.pendingChanges] : (c?.pending ?? []).map((ticket) => ({ ticket }));
    this.rejected = [...(c?.rejected ?? [])];
    this.remote = [...(c?.pendingRemote ?? [])];
    this.received = this.inbox.length;
    this.definitionsDirty = c?.definitionsDirty ?? false;
  }

  get ticketId(): string {
    return this.input.ticketId;
  }

  /**
   * Whether this run takes a behaviour added in `release`: runs started for that release or later do
   * at once; older runs once past their recorded history (the `patch` marker says where).
   */
  since(release: number, patch: string): boolean {
    return (this.input.release ?? 0) >= release || patched(patch);
  }

  /** The last local activity asked for (the next one waits for it). */
  private localTail: Promise<unknown> = Promise.resolve();

  /**
   * Runs a local activity once no other is in flight in this run. The main loop (saves, clocks,
   * calendar windows) and the action runner (webhook notices, write-backs) each wait on their own
   * local activities; when two were in flight at once, which one came back first decided which
   * coroutine went on first and so the order of the commands that followed — and a replay, which
   * gives local activity results back in another order than the worker saw them finish, could not
   * reproduce it (a release-3 history where a webhook notice beat a save, then an alarm was raised,
   * failed to replay with the code that recorded it). One at a time, each result comes back alone.
   * Runs of release 4 do so from their start; older runs from their first local activity past their
   * recorded history.
   */
  local<T>(call: () => Promise<T>): Promise<T> {
    if (!this.since(4, 'serial-local-activities')) return call();
    const run = this.localTail.then(call);
    this.localTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Takes over the state restored from the database or carried across continue-as-new. */
  load(state: CarriedState): void {
    if (!this.input.carried && state.rejected?.length) this.rejected.unshift(...state.rejected.slice(-MAX_REJECTED));
    state.windows ??= {};
    state.actions ??= [];
    this.state = state;
  }

  // ── the inbox ──────────────────────────────────────────────────────────────────────────────────

  /** Snapshots already parsed, by the object received: an update's validator and handler get the same one, parsed once. */
  private readonly parsed = new WeakMap<object, Ticket>();

  validTicket(raw: unknown): Ticket {
    const hit = typeof raw === 'object' && raw !== null ? this.parsed.get(raw) : undefined;
    if (hit) return hit;
    const ticket = parseTicket(raw);
    if (ticket.id !== this.ticketId) throw new Error(`ticket id "${ticket.id}" does not belong to workflow ticket:${this.ticketId}`);
    this.parsed.set(raw as object, ticket);
    return ticket;
  }

  /** A snapshot by signal: queued, or recorded as refused (it never reaches the measurements). */
  receiveSnapshot(raw: unknown): void {
    try {
      const ticket = this.validTicket(raw);
      // Runs of earlier releases refused a non-numeric priority or state; replaying their history,
      // such a signal stays refused (so no batch appears that the history does not have).
      if (!this.since(3, 'free-form-ticket-fields')) legacyTicketCheck(ticket);
      this.inbox.push({ ticket });
      this.received++;
    } catch (err) {
      this.reject((err as Error).message);
    }
  }

  /** A snapshot by update (already validated): its number, to wait for. */
  queueSnapshot(raw: unknown): number {
    this.inbox.push({ ticket: this.validTicket(raw) });
    return ++this.received;
  }

  /** A merge patch by update: its number, to wait for (and to find its refusal by). */
  queuePatch(raw: unknown): number {
    const mine = ++this.received;
    this.inbox.push({ patch: parseTicketPatch(raw, this.ticketId), seq: mine });
    return mine;
  }

  /** A change the run made itself (the connector's reaction to SNOW), applied in the next batch. */
  queueOwnChange(ticket: Ticket): void {
    this.inbox.push({ ticket });
    this.received++;
  }

  reject(reason: string): void {
    this.rejected.push({ at: new Date(Date.now()).toISOString(), reason });
    if (this.rejected.length > MAX_REJECTED) this.rejected.shift();
    this.rejectedChanged = true;
    log.warn('ticket change rejected', { ticketId: this.ticketId, reason });
  }

  /** The snapshot a change makes: itself, or its merge patch over the latest snapshot; null when refused. */
  resolveChange(change: Change): Ticket | null {
    if ('ticket' in change) return this.inOrder(change.ticket) ? change.ticket : null;
    try {
      const merged = this.validTicket(mergePatch(this.state.engine.ticket ?? { id: this.ticketId }, change.patch));
      return this.inOrder(merged) ? merged : null;
    } catch (err) {
      const reason = `merge patch refused: ${(err as Error).message}`;
      this.reject(reason);
      if (change.seq !== undefined) this.refusedPatches.set(change.seq, reason);
      return null;
    }
  }

  /**
   * Webhooks are retried and reordered: a snapshot whose `updatedAt` (an instant or a source version)
   * is older than the one applied is ignored and recorded as stale. Runs of release 4 do so from their
   * start; older runs from the first stale snapshot they meet after this code is deployed (the marker
   * is recorded only then, so their histories replay as they ran).
   */
  private inOrder(next: Ticket): boolean {
    const applied = this.state.engine.ticket;
    if (snapshotOrder(applied, next) !== 'older' || !this.since(4, 'stale-snapshots')) return true;
    this.reject(`stale: updatedAt ${JSON.stringify(next.updatedAt)} is older than ${JSON.stringify(applied!.updatedAt)} already applied; ignored`);
    return false;
  }

  hasWorkNow(): boolean {
    return this.inbox.length > 0 || this.remote.length > 0 || this.actionResults.length > 0 || this.definitionsDirty;
  }

  // ── settings: the definitions in force, else what an earlier release's run started with ──────

  connector(): CompiledConnector {
    return this.defs?.compiled.connector ?? DEFAULT_CONNECTOR;
  }

  /** The SNOW rules in force (active states and event field included). */
  snow(): SnowSettings {
    return snowSettings(this.connector(), this.input);
  }

  reopenWindowMs(): number {
    return (this.defs?.compiled.reopenWindowSeconds ?? this.input.reopenWindowSeconds ?? DEFAULT_REOPEN_WINDOW_SECONDS) * 1000;
  }

  /** The SNOW calls on the tmf queue, timed by the worker's setting. */
  tmf() {
    return acts.tmf(this.input.tmfTaskQueue ?? 'tmf', this.tmfTimeoutSeconds());
  }

  /** Start-to-close of one tmf activity: the worker's (from SNOW_HTTP_TIMEOUT), else the run's own, else 120 s. */
  tmfTimeoutSeconds(): number {
    return this.worker.tmfTimeoutSeconds ?? this.input.tmfTimeoutSeconds ?? 120;
  }

  // ── views ──────────────────────────────────────────────────────────────────────────────────────

  envFor(d: LoadedDefinitions): EngineEnv {
    const windows = this.state.windows!;
    return engineEnv(d.compiled, (cal) => BusinessCalendar.fromWindow(windows[`${d.version}:${cal.id}`] ?? EMPTY_WINDOW, `${d.version}:${cal.id}`));
  }

  views(now: number): MeasurementView[] {
    const env = this.defs && this.envFor(this.defs);
    return this.state.engine.measurements.map((m) => {
      try {
        return toView(m, now, env?.calendar(m.calendarId) ?? null);
      } catch {
        return toView(m, now, null); // a calendar gone from the definitions: the last accounted values
      }
    });
  }

  statusView(now: number): TicketStatusView {
    const s = this.state;
    return {
      ticket: s.engine.ticket,
      measurements: this.views(now),
      serviceProblem: s.problem && {
        id: s.problem.id,
        incidentNumber: s.problem.incidentNumber,
        link: s.problem.link,
        status: s.problem.status,
        lastSyncAt: s.problem.lastSyncAt === null ? null : new Date(s.problem.lastSyncAt).toISOString(),
        lastError: s.lastError,
      },
      rejectedUpdates: this.rejected.map((r) => r.reason),
      rejectedChanges: [...this.rejected],
      alarms: [...(s.alarms ?? [])],
      pendingActions: s.actions!.length,
    };
  }

  /** Nothing left to measure, do or sync (the reopen window runs). */
  settled(): boolean {
    const s = this.state;
    const ticket = s.engine.ticket;
    return isSettled({ ticket, closed: ticket !== null && this.closed(ticket), measurements: s.engine.measurements, pendingActions: s.actions!.length, problem: s.problem });
  }

  /**
   * The closure rule (the connector's, in domain/snow/snowCycle). Release 0.2 and earlier settled on a
   * fixed `restoredBy == "ses_group"` beside it; where the two disagree, a run that started then keeps
   * the old verdict.
   */
  private closed(ticket: Ticket): boolean {
    const rule = ticketCloses(this.connector(), ticket);
    const legacy = ticket.restoredBy === 'ses_group' || isClosedState(ticket);
    return rule === legacy || patched('closure-rule-from-connector') ? rule : legacy;
  }

  /** What the next run starts with. */
  carried(): CarriedState {
    return { ...this.state, pending: [], pendingChanges: [...this.inbox], rejected: [...this.rejected], pendingRemote: [...this.remote], definitionsDirty: this.definitionsDirty };
  }
}

/** The ticket rules of release 0.1: `state` a non-empty string, `priority` a whole number 0–10. */
function legacyTicketCheck(ticket: Ticket): void {
  const { state, priority } = ticket;
  if (state !== undefined && (typeof state !== 'string' || state === '')) throw new Error('invalid ticket: state: expected a non-empty string');
  if (priority !== undefined && !(typeof priority === 'number' && Number.isInteger(priority) && priority >= 0 && priority <= 10)) {
    throw new Error('invalid ticket: priority: expected a whole number from 0 to 10');
  }
}
