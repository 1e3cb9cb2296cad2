/** One mapping of HTTP failures for every client: SNOW's and the webhooks' answers are typed alike. */
import { httpFailure, outcomeOf, type HttpFailureTypes } from '../../src/clients/httpFailure';
import { failureFor, TmfFailure } from '../../src/clients/tmf';

const TYPES: HttpFailureTypes = { rateLimited: 'Busy', serverError: 'Busy', conflict: 'Refused', unauthorized: 'Refused', notFound: 'Refused', rejected: 'Refused' };

it('classifies answers: 429 rate-limited, 408 and 5xx server errors, 409 conflict, 401/403, 404, other 4xx refused', () => {
  expect([429, 408, 500, 503, 409, 401, 403, 404, 400, 422].map(outcomeOf)).toEqual([
    'rateLimited',
    'serverError',
    'serverError',
    'serverError',
    'conflict',
    'unauthorized',
    'unauthorized',
    'notFound',
    'rejected',
    'rejected',
  ]);
});

it('retries what settles by itself, honouring Retry-After on 429 and 503, and makes refusals final', () => {
  const now = Date.parse('2026-03-02T09:00:00Z');
  expect(httpFailure(TYPES, 'm', 429, { retryAfter: '7', now })).toMatchObject({ type: 'Busy', nonRetryable: false, nextRetryDelay: '7s' });
  expect(httpFailure(TYPES, 'm', 503, { retryAfter: 'Mon, 02 Mar 2026 09:00:30 GMT', now })).toMatchObject({ nonRetryable: false, nextRetryDelay: '30s' });
  expect(httpFailure(TYPES, 'm', 500, { retryAfter: '7', now }).nextRetryDelay).toBeUndefined();
  expect(httpFailure(TYPES, 'm', 409)).toMatchObject({ type: 'Refused', nonRetryable: false });
  expect(httpFailure(TYPES, 'm', 409, { conflictIsFinal: true })).toMatchObject({ nonRetryable: true });
  expect(httpFailure(TYPES, 'refused here', 400)).toMatchObject({ type: 'Refused', nonRetryable: true, message: 'refused here' });
});

it('gives SNOW’s failures the TMF types, with SNOW’s reason in the message', () => {
  expect(failureFor('POST /x', 401, JSON.stringify({ reason: 'Unauthorized', message: 'bad credentials' }))).toMatchObject({
    type: TmfFailure.Unauthorized,
    nonRetryable: true,
    message: 'POST /x answered 401 (Unauthorized: bad credentials)',
  });
  expect(failureFor('PATCH /y', 409, '')).toMatchObject({ type: TmfFailure.Conflict, nonRetryable: false });
});
