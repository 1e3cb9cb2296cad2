/**
 * The seed's five concurrent connections to SNOW, held across the whole fleet: every tmf worker
 * process sends a request only while it holds one of TMF_MAX_CONCURRENT slots leased in PostgreSQL
 * (`snow_slots`). Temporal has no queue-wide concurrency cap, and a per-process cap multiplies with
 * the number of workers; SNOW's rate limits do not.
 *
 * A worker claims slots as its requests need them and keeps them while it is busy (its connections
 * stay warm and its activities keep overlapping their Temporal round trips with requests, which is
 * what makes one worker fast), renews their leases every third of the lease, and gives back a slot
 * idle for IDLE_RELEASE_MS so another worker can have it. A worker that dies stops renewing: its
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

/** How long an unused slot is kept before it is given back. */
const IDLE_RELEASE_MS = 250;
/** How often a worker with waiting requests looks for a free slot when all are held. */
const CLAIM_POLL_MS = 25;

export class FleetSlots implements RequestGate {
  readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<number, { busy: boolean; idleSince: number }>();
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
    this.timers.push(setInterval(() => void this.releaseIdle(), IDLE_RELEASE_MS));
    for (const t of this.timers) t.unref();
  }

  /** Slots this process holds now. */
  get holding(): number {
    return this.held.size;
  }

  async acquire(): Promise<() => void> {
    if (this.closed) throw new Error('the SNOW request gate is closed');
    const slot = this.freeHeld() ?? (await new Promise<number>((resolve) => {
      this.waiters.push(resolve);
      void this.claim();
    }));
    return () => this.release(slot);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const mine = [...this.held.keys()];
    this.held.clear();
    await releaseSnowSlots(this.opts.db, this.holder, mine).catch(() => undefined);
  }

  private freeHeld(): number | null {
    for (const [slot, s] of this.held) {
      if (!s.busy) {
        s.busy = true;
        return slot;
      }
    }
    return null;
  }

  private release(slot: number): void {
    const s = this.held.get(slot);
    if (!s) return; // lost at a renewal meanwhile
    const next = this.waiters.shift();
    if (next) return next(slot); // handed straight to a waiting request
    s.busy = false;
    s.idleSince = Date.now();
  }

  /** Claims slots while requests wait; polls while every slot is held elsewhere. */
  private async claim(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        let slot: number | null = null;
        try {
          slot = this.held.size < this.opts.slots ? await claimSnowSlot(this.opts.db, this.holder, this.opts.slots, this.opts.leaseMs) : null;
        } catch (err) {
          this.opts.onError?.(err as Error);
        }
        if (slot === null) {
          await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
          continue;
        }
        this.held.set(slot, { busy: true, idleSince: 0 });
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
    const mine = [...this.held.keys()];
    try {
      const kept = new Set(await renewSnowSlots(this.opts.db, this.holder, mine, this.opts.leaseMs));
      for (const slot of mine) if (!kept.has(slot)) this.held.delete(slot);
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }

  private async releaseIdle(): Promise<void> {
    if (this.closed || this.waiters.length > 0) return;
    const now = Date.now();
    const idle = [...this.held].filter(([, s]) => !s.busy && now - s.idleSince >= IDLE_RELEASE_MS).map(([slot]) => slot);
    if (idle.length === 0) return;
    for (const slot of idle) this.held.delete(slot);
    await releaseSnowSlots(this.opts.db, this.holder, idle).catch((err: Error) => this.opts.onError?.(err));
  }
}
