/**
 * Tells the compliance run that measurements were saved (DESIGN §4.8: a measurement closing reaches
 * its agreements' records within a second). A save activity pokes it; at most one signal-with-start
 * per `gapMs` leaves this worker, however many saves there were, so the compliance run's history
 * grows with time, not with traffic. The signal carries nothing: the change feed in PostgreSQL holds
 * what changed, so a lost or repeated poke costs nothing but latency.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { complianceWake } from '../client/compliance';

export interface ComplianceNudger {
  poke(): void;
}

export const NO_NUDGES: ComplianceNudger = { poke: () => undefined };

export function complianceNudger(gapMs = 100): ComplianceNudger {
  let client: Client | null = null;
  let taskQueue = '';
  let timer: ReturnType<typeof setTimeout> | null = null;
  let sending = false;
  let again = false;

  async function send(): Promise<void> {
    sending = true;
    try {
      await client!.workflow.signalWithStart('complianceWorkflow', complianceWake(taskQueue));
    } catch {
      // The next save pokes again; the feed keeps what changed meanwhile.
    } finally {
      sending = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  function schedule(): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (sending) again = true;
      else void send();
    }, gapMs);
    timer.unref?.();
  }

  return {
    poke() {
      try {
        const ctx = Context.current();
        client = ctx.client;
        taskQueue = ctx.info.taskQueue;
      } catch {
        return; // outside a worker (a test environment without a client)
      }
      schedule();
    },
  };
}
