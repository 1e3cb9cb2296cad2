/**
 * Carries out milestone actions (and the connector's write-backs) one after the other, beside the
 * main loop, each under its idempotency key. What they say is domain/notifications'.
 */
import { condition, log } from '@temporalio/workflow';
import { milestoneAlarm } from '../../domain/snow/alarm';
import { targetKey, type ActionEffect } from '../../domain/request/engine';
import type { ActionRecord } from '../../domain/request/measurement';
import { measurementIndexOf, milestoneEmail, milestonePayload } from '../../domain/notifications';
import { startActionWorkflow } from '../startAction';
import * as acts from './proxies';
import type { TicketEntity } from './entity';
import { failureText } from './snowCycle';

export class ActionRunner {
  constructor(private readonly t: TicketEntity) {}

  /** Runs for the life of the run; each result goes back to the main loop to be recorded. */
  async run(): Promise<void> {
    const queue = this.t.state.actions!;
    for (;;) {
      await condition(() => queue.length > 0);
      const e = queue[0]!;
      let status: ActionRecord['status'] = 'done';
      let detail: string | null;
      try {
        detail = await this.carryOut(e);
      } catch (err) {
        status = 'failed';
        detail = failureText(err);
        log.warn('milestone action failed', { ticketId: this.t.ticketId, key: e.key, reason: detail });
      }
      queue.shift();
      this.t.actionResults.push({ key: e.key, status, detail });
    }
  }

  private async carryOut(e: ActionEffect): Promise<string> {
    const a = e.action;
    const keys = this.t.state.engine.measurements.map(targetKey);
    const payload = milestonePayload(e, this.t.views(e.firedAt)[measurementIndexOf(e.key, keys)] ?? null);
    if ('notify' in a) {
      const done: string[] = [];
      if (a.notify.webhook) {
        const hook = { key: `${e.key}|webhook`, url: a.notify.webhook, payload };
        // Runs started for release 3 post webhooks from this worker (one workflow task per firing, not two).
        const local = (this.t.input.release ?? 0) >= 3;
        done.push(await (local ? this.t.local(() => acts.localActions.notifyWebhook(hook)) : acts.actions.notifyWebhook(hook)));
      }
      if (a.notify.email) {
        const to = Array.isArray(a.notify.email) ? a.notify.email : [a.notify.email];
        done.push(await acts.actions.notifyEmail({ key: `${e.key}|email`, to, ...milestoneEmail(payload, a.notify.subject) }));
      }
      return done.join('; ');
    }
    if ('setField' in a) return this.t.local(() => acts.localActions.writeBackFields({ key: e.key, ticketId: e.ticketId, fields: a.setField }));
    if ('raiseAlarm' in a) {
      const s = this.t.state;
      const body = milestoneAlarm(e.ticket, e, a.raiseAlarm, s.problem);
      const { id } = await this.t.tmf().raiseAlarm(body);
      (s.alarms ??= []).push({ id, externalAlarmId: body.externalAlarmId, device: e.ticketId, raisedAt: body.alarmRaisedTime });
      return `alarm ${id}`;
    }
    return startActionWorkflow(e.key, a.startWorkflow, payload);
  }
}
