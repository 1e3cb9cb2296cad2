/** The compliance tick (DESIGN §4.8) as an activity of the `slm` queue. */
import type { Db } from '../db/client';
import { complianceTick, type TickResult } from '../db/compliance';

export function createComplianceActivities({ db }: { db: Db }) {
  return {
    /**
     * Counts what changed since the last tick, closes the periods that ended, and returns the
     * milestone actions to carry out and the next instant to wake at. One transaction: a retry after
     * a crash does it again from the same feed, never twice.
     */
    async complianceTick(): Promise<TickResult> {
      return complianceTick(db, Date.now());
    },
  };
}
