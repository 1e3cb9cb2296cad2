/**
 * The seed's five concurrent connections to SNOW, held across the whole fleet: every tmf worker
 * process sends a request only while it holds one of TMF_MAX_CONCURRENT slots leased in PostgreSQL
 * (`snow_slots`). Temporal has no queue-wide concurrency cap, and a per-process cap multiplies with
 * the number of workers; SNOW's rate limits do not.
 *
 * A worker claims a slot when a request of its own needs one, hands it straight to its next waiting
 * request (its connections stay warm and its activities keep overlapping their Temporal round trips
 * with requests, which is what makes one worker fast), and gives it back the moment none waits, so
 * the slots follow the work across the fleet. It renews its leases every third of the lease. A worker that dies stops renewing: its
 * slots become free when their lease runs out (TMF_SLOT_LEASE, 10 s by default). A worker whose
 * renewal finds a slot gone (it stalled past its lease) stops using that slot at once.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client';
import { claimSnowSlot, releaseSnowSlots, renewSnowSlots } from '../db/queries';

/** A gate each request to SNOW passes: resolves with the function that lets the next one in. */
export interface RequestGate {
  acquire(): Promise<() => void>;
  close(): Promise<void>;
}

/** No cap beyond the HTTP client's own connections (TMF_CONCURRENCY_SCOPE=process). */
export const OPEN_GATE: RequestGate = { acquire: async () => () => undefined, close: async () => undefined };

/**
 * How often a worker with waiting requests looks for a free slot while all are held elsewhere: from
 * 10 ms, doubling to 100 ms (slots held by busy workers stay held; a slot frees when a worker goes
 * idle or dies, and several workers polling fast would only spend the cores the requests need).
 */
const CLAIM_POLL_MS = { first: 10, max: 100 };

export class FleetSlots implements RequestGate {
  readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Slots this process holds; each is in use (a slot no request waits for goes back at once). */
  private readonly held = new Set<number>();
  private readonly waiters: ((slot: number) => void)[] = [];
  private claiming = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly opts: {
      db: Db;
      slots: number;
      leaseMs: number;
      onError?: (err: Error) => void;
    },
  ) {
    this.timers.push(setInterval(() => void this.renew(), Math.max(100, Math.floor(opts.leaseMs / 3))));
    for (const t of this.timers) t.unref();
  }

  /** Slots this process holds now. */
  get holding(): number {
    return this.held.size;
  }

  async acquire(): Promise<() => void> {
    if (this.closed) throw new Error('the SNOW request gate is closed');
    const slot = await new Promise<number>((resolve) => {
      this.waiters.push(resolve);
      void this.claim();
    });
    return () => this.release(slot);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const mine = [...this.held];
    this.held.clear();
    await releaseSnowSlots(this.opts.db, this.holder, mine).catch(() => undefined);
  }

  /**
   * A request is done with its slot: it goes straight to a request waiting here, else back to the
   * fleet at once, so the slots follow the work (Temporal hands activities to every worker, and a
   * slot kept idle here would leave another worker's requests waiting).
   */
  private release(slot: number): void {
    if (!this.held.has(slot)) return; // lost at a renewal meanwhile
    const next = this.waiters.shift();
    if (next) return next(slot);
    this.held.delete(slot);
    releaseSnowSlots(this.opts.db, this.holder, [slot]).catch((err: Error) => this.opts.onError?.(err));
  }

  /** Claims slots while requests wait; polls while every slot is held elsewhere. */
  private async claim(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      let pause = CLAIM_POLL_MS.first;
      while (this.waiters.length > 0 && !this.closed) {
        let slot: number | null = null;
        try {
          slot = this.held.size < this.opts.slots ? await claimSnowSlot(this.opts.db, this.holder, this.opts.slots, this.opts.leaseMs) : null;
        } catch (err) {
          this.opts.onError?.(err as Error);
        }
        if (slot === null) {
          await new Promise((r) => setTimeout(r, pause));
          pause = Math.min(CLAIM_POLL_MS.max, pause * 2);
          continue;
        }
        pause = CLAIM_POLL_MS.first;
        this.held.add(slot);
        const waiter = this.waiters.shift();
        if (waiter) waiter(slot);
        else this.release(slot);
      }
    } finally {
      this.claiming = false;
    }
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0 || this.closed) return;
    const mine = [...this.held];
    try {
      const kept = new Set(await renewSnowSlots(this.opts.db, this.holder, mine, this.opts.leaseMs));
      for (const slot of mine) if (!kept.has(slot)) this.held.delete(slot);
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }
}
