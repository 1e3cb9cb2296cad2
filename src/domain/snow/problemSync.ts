/**
 * The pure part of polling SNOW for changed service problems. `sys_updated_on` has one-second
 * resolution and the poll asks for `>=` the last boundary, so the boundary second comes back every
 * time: records already seen at that second are dropped, and the new boundary remembers what it saw.
 */
export interface ChangedProblem {
  id: string;
  correlationId: string | null;
  status: string | null;
  number: string | null;
  link: string | null;
  updatedOn: string;
}

export interface SyncCursor {
  /** "YYYY-MM-DD HH:mm:ss" UTC, ServiceNow's format (compares chronologically as text). */
  since: string;
  /** `id@updatedOn` of the records already forwarded at exactly `since`. */
  seenAtBoundary: string[];
}

export function sysTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The instant of a `sys_updated_on` text (UTC, `YYYY-MM-DD HH:MM:SS`); null when it is not one. */
export function sysTimeMs(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

/** The records not forwarded before, and the cursor for the next poll. */
export function advanceCursor(cursor: SyncCursor, polled: ChangedProblem[]): { fresh: ChangedProblem[]; cursor: SyncCursor } {
  const seen = new Set(cursor.seenAtBoundary);
  const fresh = polled.filter((p) => p.updatedOn >= cursor.since && !seen.has(`${p.id}@${p.updatedOn}`));
  const boundary = polled.reduce((max, p) => (p.updatedOn > max ? p.updatedOn : max), cursor.since);
  const atBoundary = polled.filter((p) => p.updatedOn === boundary).map((p) => `${p.id}@${p.updatedOn}`);
  return {
    fresh,
    cursor: { since: boundary, seenAtBoundary: boundary === cursor.since ? [...new Set([...cursor.seenAtBoundary, ...atBoundary])] : atBoundary },
  };
}

/** The ticket a problem belongs to, from the correlation id we gave it (`ticket:<id>`). */
export function ticketIdOf(p: ChangedProblem): string | null {
  return p.correlationId?.startsWith('ticket:') ? p.correlationId.slice('ticket:'.length) : null;
}
