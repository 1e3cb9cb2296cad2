/**
 * When a ticket's run is done with it (DESIGN §2.1): a closed ticket waits out a reopen window once
 * every measurement is final, every action has run and its service problem is closed, then its run
 * completes; a later change starts a new run from the saved state. Pure, so replay and tests reach it.
 */
import { isOpen, type Measurement } from './measurement';
import type { ProblemState } from '../snow/snowCycle';
import type { Ticket } from '../ticket';

/** The reopen window when nothing configures one (DESIGN §2.1: 30 days). */
export const DEFAULT_REOPEN_WINDOW_SECONDS = 30 * 86_400;

export interface SettleInput {
  ticket: Ticket | null;
  /** The closure rule's verdict on the ticket (`ticketCloses`). */
  closed: boolean;
  measurements: readonly Measurement[];
  pendingActions: number;
  problem: ProblemState | null;
}

/** Nothing is left to measure, do or sync: the reopen window runs. */
export function isSettled(s: SettleInput): boolean {
  return (
    s.ticket !== null &&
    s.closed &&
    !s.measurements.some(isOpen) &&
    s.pendingActions === 0 &&
    (s.problem === null || s.problem.status === 'resolved' || s.problem.status === 'closed')
  );
}

/**
 * How long the run sleeps when nothing is waiting: until the engine's next wake-up, else until the
 * reopen window ends (settled), else until a change (undefined).
 */
export function waitFor(now: number, wake: number | null, reopenWindowEnds: number | null): number | undefined {
  if (wake !== null) return Math.max(1, wake - now);
  if (reopenWindowEnds !== null) return Math.max(1, reopenWindowEnds - now);
  return undefined;
}
