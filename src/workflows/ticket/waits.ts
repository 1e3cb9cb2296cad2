/**
 * How a ticket run waits for its next instant or for work. Runs of release 6 keep one timer for the
 * run's next instant while that instant stays: the wait for SNOW's answer and the main loop's sleep
 * that follows it share the timer, where earlier runs start a timer for each wait and cancel it when
 * the wait ends early (two commands and two history events more per SNOW call, a timer task created
 * and deleted on the server).
 */
import { CancellationScope, condition, isCancellation, sleep } from '@temporalio/workflow';

export class Waits {
  /** The instant the running timer is for; null when none runs. */
  private at: number | null = null;
  private scope: CancellationScope | null = null;
  /** The instant of the last timer that fired (until a wait sees it). */
  private firedAt: number | null = null;

  constructor(private readonly keepTimer: boolean) {}

  /**
   * Waits until `ready()` holds or the instant `at` comes (sized from `now`); with no instant, until
   * `ready()` holds. Returns true when `ready()` ended the wait, false when the instant came first.
   * With `keep`, the instant having come stays to be seen by the next wait (the main loop's, which
   * then fires the run's timers) instead of being taken by this one.
   */
  async until(ready: () => boolean, at: number | null, now: number, keep = false): Promise<boolean> {
    if (!this.keepTimer) return condition(ready, at === null ? undefined : Math.max(1, at - now));
    const came = () => at !== null && this.firedAt === at;
    if (!came()) this.arm(at, now);
    await condition(() => ready() || came());
    if (ready()) return true;
    if (!keep) this.firedAt = null;
    return false;
  }

  /** The timer for `at`: the running one when it is for the same instant; none for null. */
  private arm(at: number | null, now: number): void {
    if (at === this.at) return;
    this.scope?.cancel();
    this.scope = null;
    this.at = at;
    if (at === null) return;
    const scope = new CancellationScope();
    this.scope = scope;
    scope
      .run(() => sleep(Math.max(1, at - now)))
      .then(
        () => {
          if (this.scope !== scope) return;
          this.scope = null;
          this.at = null;
          this.firedAt = at;
        },
        (err: unknown) => {
          if (!isCancellation(err)) throw err;
        },
      );
  }
}
