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

export class SnowCycle {
  constructor(private readonly t: TicketEntity) {}

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
