/**
 * Carries out the SNOW cycle (seed 000) for a ticket run: the decisions are domain/snowCycle's, the
 * calls are the tmf activities. A final failure of a call (a 4xx from SNOW) is kept on the ticket and
 * the next change tries again; retryable failures are retried by Temporal.
 */
import { ActivityFailure, log } from '@temporalio/workflow';
import { toAlarm } from '../../domain/alarm';
import { closes, eventDevice } from '../../domain/connector';
import { ProblemMappingError, toServiceProblem, type ServiceProblemBody } from '../../domain/serviceProblem';
import {
  createdProblem,
  needsProblem,
  nextPatch,
  patchedProblem,
  problemWriteBackFields,
  remoteFields,
  remoteUpdate,
  writeBackAction,
  writeBackKey,
} from '../../domain/snowCycle';
import type { Ticket, TicketValue } from '../../domain/ticket';
import type { RemoteProblemChange } from '../messages';
import * as acts from './proxies';
import type { TicketEntity } from './entity';

export class SnowCycle {
  constructor(private readonly t: TicketEntity) {}

  private tmf() {
    return acts.tmf(this.t.input.tmfTaskQueue ?? 'tmf', this.t.tmfTimeoutSeconds());
  }

  /**
   * The seed's cycle, per batch: create the service problem if the ticket needs one (writing its id,
   * incident number and link back to the source), raise pending device alarms (so they can name the
   * problem), then PATCH what changed. When the closure condition holds, the last PATCH resolves the
   * problem with the resolution note and the ticket is no longer synced. `at` is the batch's instant.
   */
  async sync(at: number): Promise<void> {
    const s = this.t.state;
    const ticket = s.engine.ticket;
    if (!ticket || s.syncClosed) return;
    const c = this.t.connector();
    let body: ServiceProblemBody;
    try {
      body = toServiceProblem(ticket, c);
    } catch (err) {
      // The ticket is fine; what SNOW would get is not: the problem carries the error until a change
      // (or a definitions fix) makes the ticket mappable.
      if (!(err instanceof ProblemMappingError)) throw err;
      s.lastError = `service problem not sent: ${err.message}`;
      return;
    }
    const tmf = this.tmf();
    await this.recordingFailure('service problem sync', async () => {
      // An active ticket gets its problem even when it arrives already meeting the closure condition:
      // SNOW then holds the record, resolved with its note just below.
      if (!needsProblem(ticket, s.problem, this.t.activeStates())) return;
      const ref = await tmf.createServiceProblem(ticket.id, body);
      s.problem = createdProblem(ref, body, at);
      s.lastSent = body;
      s.lastError = null;
      this.writeBack(writeBackKey.problem(ticket.id, ref.id), problemWriteBackFields(ref), at);
    });
    await this.raiseAlarms();
    await this.recordingFailure('service problem sync', async () => {
      if (!s.problem) return;
      const closing = closes(c, ticket);
      const patch = nextPatch(c, ticket, s.lastSent, body, at);
      if (!patch) return;
      await tmf.patchServiceProblem(s.problem.id, patch);
      s.problem = patchedProblem(s.problem, body, closing, at);
      s.lastSent = body;
      s.lastError = null;
      if (closing) s.syncClosed = true;
    });
  }

  /** Queues a device alarm for a change from `previous` to `next` when the connector's event rule says so. */
  noteEvent(previous: Ticket | null, next: Ticket, at: number): void {
    const s = this.t.state;
    if (s.syncClosed) return;
    const device = eventDevice(this.t.connector(), previous, next, this.t.eventField());
    if (device) (s.pendingAlarms ??= []).push({ device, at, ticket: next });
  }

  /** Raises the pending device alarms, each once, naming the service problem when there is one. */
  private async raiseAlarms(): Promise<void> {
    const s = this.t.state;
    while (s.pendingAlarms?.length) {
      const { device, at, ticket } = s.pendingAlarms.shift()!;
      const body = toAlarm(ticket, this.t.eventField(), device, s.problem, at);
      await this.recordingFailure('alarm', async () => {
        const { id } = await this.tmf().raiseAlarm(body);
        (s.alarms ??= []).push({ id, externalAlarmId: body.externalAlarmId, device, raisedAt: body.alarmRaisedTime });
      });
    }
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

  private async recordingFailure(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = failureText(err);
      this.t.state.lastError = cause;
      log.warn(`${what} failed`, { ticketId: this.t.ticketId, reason: cause });
    }
  }
}

/** The message of an activity's final failure (its cause's), for the ticket's lastError and logs. */
export function failureText(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return (err as Error)?.message ?? String(err);
}
