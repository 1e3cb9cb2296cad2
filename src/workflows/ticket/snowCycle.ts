/**
 * Carries out the SNOW cycle (seed 000) for a ticket run: the cycle and its decisions are
 * domain/snow/snowCycle's, the calls are the tmf activities. A final failure of a call (a 4xx from SNOW) is
 * kept on the ticket and the next change tries again; retryable failures are retried by Temporal.
 */
import { ActivityFailure, log } from '@temporalio/workflow';
import { noteDeviceEvent, remoteFields, remoteUpdate, snowCycle, writeBackAction, writeBackKey, type SnowAnswer, type SnowRequest } from '../../domain/snow/snowCycle';
import type { Ticket, TicketValue } from '../../domain/ticket';
import type { RemoteProblemChange } from '../messages';
import type { TicketEntity } from './entity';
import type { Waits } from './waits';

export class SnowCycle {
  /** The cycle in flight beside the main loop (runs of release 5 and later); null when none. */
  private running: Promise<void> | null = null;
  /** The instant of a batch that asked for a cycle while one was in flight: the next cycle runs at it. */
  private askedAt: number | null = null;
  /** The main loop waits for the answer of the cycle in flight and saves it itself. */
  private awaited = false;
  /** SNOW calls made so far (a cycle that makes none is over at once). */
  private calls = 0;

  constructor(private readonly t: TicketEntity) {}

  /** No cycle in flight or asked for: the run may end or continue as new. */
  idle(): boolean {
    return this.running === null && this.askedAt === null;
  }

  /**
   * Runs of release 5: the SNOW cycle for a batch at `at`, beside the main loop, so that a SNOW
   * outage (or no tmf worker at all) holds back only SNOW — the run's timers fire, its changes are
   * applied and saved. With a cycle in flight, the next one is asked for (it sends what changed
   * meanwhile). The batch's save waits for the answer of a cycle that calls SNOW, so that one save
   * carries both, as before — but only until the run's next due instant (`until`) or new work comes:
   * then it saves without it, and the answer is saved by `publish` when it comes. (A bound of its own,
   * tried first, cost a timer, a workflow task and a save more per ticket whenever the tmf queue had a
   * backlog longer than the bound.)
   */
  async syncBeside(at: number, until: number | null, work: () => boolean, publish: () => Promise<void>, waits: Waits): Promise<void> {
    if (this.running) {
      this.askedAt = at;
      return;
    }
    const calls = this.calls;
    this.start(at, publish);
    const now = Date.now();
    if (this.calls === calls || (until !== null && until <= now)) return;
    this.awaited = true;
    try {
      // The instant coming is the main loop's to act on: it waits again at once and sees it.
      await waits.until(() => this.running === null || work(), until, now, true);
    } finally {
      this.awaited = false;
    }
  }

  private start(at: number, publish: () => Promise<void>): void {
    const before = this.shown();
    this.running = (async () => {
      try {
        await this.sync(at);
        // The main loop, if it still waits, saves right after; otherwise the answer is saved here.
        if (this.shown() !== before && !this.awaited) await publish();
      } finally {
        this.running = null;
        const next = this.askedAt;
        this.askedAt = null;
        if (next !== null) this.start(next, publish);
      }
    })();
  }

  /** What a cycle can change of what the run shows and saves. */
  private shown(): string {
    const s = this.t.state;
    return JSON.stringify([s.problem, s.lastError, s.syncClosed]);
  }

  /**
   * Runs domain/snow/snowCycle's cycle for this batch: each call it asks for goes to the tmf activities,
   * a write-back to the action runner. `at` is the batch's instant.
   */
  async sync(at: number): Promise<void> {
    const s = this.t.state;
    const cycle = snowCycle(s, s.engine.ticket, this.t.snow(), at);
    let answer: SnowAnswer | undefined;
    for (let step = cycle.next(); !step.done; step = cycle.next(answer)) answer = await this.carry(step.value, at);
  }

  private async carry(r: SnowRequest, at: number): Promise<SnowAnswer | undefined> {
    if (r.kind === 'writeBack') {
      this.writeBack(r.key, r.fields, at);
      return undefined;
    }
    const tmf = this.t.tmf();
    this.calls++;
    try {
      if (r.kind === 'create') return { ok: true, ref: await tmf.createServiceProblem(r.ticketId, r.body) };
      if (r.kind === 'alarm') return { ok: true, id: (await tmf.raiseAlarm(r.body)).id };
      await tmf.patchServiceProblem(r.problemId, r.patch);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const error = failureText(err);
      log.warn(`${r.kind === 'alarm' ? 'alarm' : 'service problem sync'} failed`, { ticketId: this.t.ticketId, reason: error });
      return { ok: false, error };
    }
  }

  /** Queues a device alarm for a change from `previous` to `next` when the connector's event rule says so. */
  noteEvent(previous: Ticket | null, next: Ticket, at: number): void {
    noteDeviceEvent(this.t.state, this.t.snow(), previous, next, at);
  }

  /**
   * Records SNOW's view of our problem (our own changes coming back from the poll change nothing),
   * and applies the connector's reactions: fields set on the ticket, as a change at the next batch.
   * Returns whether anything changed.
   */
  applyRemote(change: RemoteProblemChange, at: number): boolean {
    const s = this.t.state;
    const next = remoteUpdate(s.problem, change);
    if (!next) return false;
    s.problem = next;
    const ticket = s.engine.ticket;
    const fields = ticket && remoteFields(this.t.connector(), ticket, next);
    if (ticket && fields) {
      this.t.queueOwnChange({ ...ticket, ...fields, id: ticket.id });
      this.writeBack(writeBackKey.remote(ticket.id, change.updatedOn), fields, at);
    }
    return true;
  }

  /** Queues fields to POST back to the ticket's source (SLM_SOURCE_WEBHOOK), in order with milestone actions. */
  private writeBack(key: string, fields: Record<string, TicketValue>, at: number): void {
    const ticket = this.t.state.engine.ticket;
    if (!ticket || !this.t.worker.writesBack) return;
    this.t.state.actions!.push(writeBackAction(key, ticket, fields, at));
  }
}

/** The message of an activity's final failure (its cause's), for the ticket's lastError and logs. */
export function failureText(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return (err as Error)?.message ?? String(err);
}
