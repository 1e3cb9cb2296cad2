import { advanceCursor, ticketIdOf, type ChangedProblem } from '../../src/domain/snow/problemSync';

const p = (id: string, updatedOn: string, correlationId: string | null = `ticket:${id}`): ChangedProblem => ({
  id,
  correlationId,
  status: 'held',
  number: null,
  link: null,
  updatedOn,
});

describe('problem sync cursor', () => {
  it('forwards a change once although the boundary second comes back in the next poll', () => {
    const start = { since: '2026-03-02 10:00:00', seenAtBoundary: [] };
    const first = advanceCursor(start, [p('a', '2026-03-02 10:00:05'), p('b', '2026-03-02 10:00:07')]);
    expect(first.fresh.map((x) => x.id)).toEqual(['a', 'b']);
    expect(first.cursor).toEqual({ since: '2026-03-02 10:00:07', seenAtBoundary: ['b@2026-03-02 10:00:07'] });
    // `>=` returns b again, plus c changed in the same second and a changed again later.
    const second = advanceCursor(first.cursor, [p('b', '2026-03-02 10:00:07'), p('c', '2026-03-02 10:00:07'), p('a', '2026-03-02 10:00:09')]);
    expect(second.fresh.map((x) => x.id)).toEqual(['c', 'a']);
    expect(second.cursor).toEqual({ since: '2026-03-02 10:00:09', seenAtBoundary: ['a@2026-03-02 10:00:09'] });
  });

  it('keeps the boundary when nothing newer arrived, remembering everything seen at it', () => {
    const cursor = { since: '2026-03-02 10:00:07', seenAtBoundary: ['b@2026-03-02 10:00:07'] };
    const next = advanceCursor(cursor, [p('b', '2026-03-02 10:00:07'), p('c', '2026-03-02 10:00:07')]);
    expect(next.fresh.map((x) => x.id)).toEqual(['c']);
    expect(next.cursor.seenAtBoundary.sort()).toEqual(['b@2026-03-02 10:00:07', 'c@2026-03-02 10:00:07']);
    expect(advanceCursor(next.cursor, [p('b', '2026-03-02 10:00:07'), p('c', '2026-03-02 10:00:07')]).fresh).toEqual([]);
  });

  it('maps problems to tickets by our correlation id only', () => {
    expect(ticketIdOf(p('x', '2026-03-02 10:00:00', 'ticket:T-9'))).toBe('T-9');
    expect(ticketIdOf(p('x', '2026-03-02 10:00:00', 'someone-else'))).toBeNull();
    expect(ticketIdOf(p('x', '2026-03-02 10:00:00', null))).toBeNull();
  });
});
