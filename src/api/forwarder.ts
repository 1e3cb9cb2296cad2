/**
 * Hands the changes the API queued (`ingest_outbox`) to their ticket workflows: a loop per API
 * process, in order per ticket, any number of processes side by side. A change is removed in the
 * transaction that saw it sent; a process that dies between the two sends it again after its lock
 * is gone — a snapshot or a merge patch applied twice changes nothing the second time. While
 * Temporal is unreachable the changes wait, durable, and go out when it is back.
 */
import type { Gauge } from 'prom-client';
import type { AppPorts } from '../app/ports';
import { sendTicket, sendTicketPatch } from '../app/tickets';
import { forwardOutbox, outboxBacklog } from '../db/queries';
import type { Ticket } from '../domain/ticket';
import type { Log } from '../telemetry/log';

export interface Forwarder {
  /** Changes queued (all API processes), as last counted (at most 250 ms ago while busy). */
  backlog(): Promise<number>;
  /**
   * Whether `n` more changes fit under `max` queued ones: the last count plus what this process let
   * in since (so requests racing in one process see each other). One larger than `max` alone fits
   * into an empty queue rather than never.
   */
  admit(n: number, max: number): Promise<boolean>;
  /** Something was queued: look now rather than at the next poll. */
  kick(): void;
  /** Resolves once no change of `ticketId` is queued (a `?wait=true` change must not overtake them). */
  drained(ticketId: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startForwarder(opts: { ports: AppPorts; log: Log; batch?: number; concurrency?: number; backlogGauge?: Gauge }): Forwarder {
  const { ports, log } = opts;
  const batch = opts.batch ?? 256;
  const concurrency = opts.concurrency ?? 64;
  let stopped = false;
  let wake: (() => void) | null = null;
  let counted: { at: number; n: number } | null = null;
  let counting: Promise<number> | null = null;
  /** Changes this process let in since the last count. */
  let admitted = 0;

  const sendOne = async (r: { ticketId: string; kind: 'snapshot' | 'patch'; body: unknown }) => {
    if (r.kind === 'snapshot') await sendTicket(ports, r.body as Ticket);
    else await sendTicketPatch(ports, r.ticketId, r.body);
  };

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      let result: { sent: number; failed: number };
      try {
        const db = await ports.db();
        result = await forwardOutbox(db, batch, async (rows) => {
          const done: number[] = [];
          let next = 0;
          await Promise.all(
            Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
              while (next < rows.length) {
                const r = rows[next++]!;
                try {
                  await sendOne(r);
                  done.push(r.seq);
                } catch (err) {
                  log('WARN', 'queued ticket change not forwarded yet', { ticketId: r.ticketId, error: (err as Error).message.split('\n')[0] });
                }
              }
            }),
          );
          return done;
        });
      } catch (err) {
        result = { sent: 0, failed: 1 };
        log('WARN', 'ticket change forwarding failed', { error: (err as Error).message.split('\n')[0] });
      }
      if (result.failed > 0 && result.sent === 0) failures++;
      else failures = 0;
      if (result.sent > 0 && result.failed === 0) continue; // more may be waiting
      // Idle or failing: wait for a kick, or poll (backing off to 5 s while nothing goes out).
      const pause = result.sent + result.failed === 0 ? 200 : Math.min(5000, 250 * 2 ** Math.min(failures, 5));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  })();

  async function backlog(): Promise<number> {
    if (counted && Date.now() - counted.at < 250) return counted.n;
    counting ??= ports
      .db()
      .then((db) => outboxBacklog(db))
      .then((n) => {
        counted = { at: Date.now(), n };
        admitted = 0;
        opts.backlogGauge?.set(n);
        return n;
      })
      .finally(() => (counting = null));
    return counting;
  }

  return {
    backlog,
    async admit(n, max) {
      const estimate = (await backlog()) + admitted;
      if (estimate > 0 && estimate + n > max) return false;
      admitted += n;
      return true;
    },
    kick() {
      wake?.();
    },
    async drained(ticketId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await outboxBacklog(await ports.db(), ticketId)) > 0) {
        if (Date.now() > deadline) throw new Error(`earlier changes of ticket ${ticketId} are still queued (Temporal slow or unreachable); retry later`);
        wake?.();
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
