/**
 * One mapping of HTTP failures to typed Temporal failures (STYLE §7), shared by every client that
 * speaks HTTP (SNOW, webhooks): 4xx other than 408, 409 and 429 is final; 429 and 503 wait as long as
 * `Retry-After` asks (seconds or an HTTP date); the rest is retried.
 */
import { ApplicationFailure } from '@temporalio/common';

/** What a failed answer means, whatever the area. */
export type HttpOutcome = 'rateLimited' | 'serverError' | 'conflict' | 'unauthorized' | 'notFound' | 'rejected';

/** The failure `type` each area gives each outcome. */
export type HttpFailureTypes = Record<HttpOutcome, string>;

/**
 * `Retry-After` in seconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3) counted from `now`.
 * Undefined when absent, unreadable or already past.
 */
export function retryAfterSeconds(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) > 0 ? Number(v) : undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  const seconds = Math.ceil((at - now) / 1000);
  return seconds > 0 ? seconds : undefined;
}

export function outcomeOf(status: number): HttpOutcome {
  if (status === 429) return 'rateLimited';
  if (status >= 500 || status === 408) return 'serverError';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'notFound';
  return 'rejected';
}

/**
 * The failure for an answer with `status`: `message` says what was asked and what came back.
 * A conflict (another change to the record in flight) settles by itself and is retried, unless the
 * area says otherwise.
 */
export function httpFailure(
  types: HttpFailureTypes,
  message: string,
  status: number,
  opts: { retryAfter?: string | string[] | undefined; now?: number; conflictIsFinal?: boolean } = {},
): ApplicationFailure {
  const outcome = outcomeOf(status);
  const seconds = retryAfterSeconds(opts.retryAfter, opts.now ?? Date.now());
  const delay = seconds === undefined ? undefined : `${seconds}s`;
  const type = types[outcome];
  switch (outcome) {
    case 'rateLimited':
      return ApplicationFailure.create({ type, message, nonRetryable: false, nextRetryDelay: delay });
    case 'serverError':
      return ApplicationFailure.create({ type, message, nonRetryable: false, nextRetryDelay: status === 503 ? delay : undefined });
    case 'conflict':
      return ApplicationFailure.create({ type, message, nonRetryable: !!opts.conflictIsFinal });
    default:
      return ApplicationFailure.create({ type, message, nonRetryable: true });
  }
}
