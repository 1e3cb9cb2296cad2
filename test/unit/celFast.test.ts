/**
 * The direct path for simple conditions (src/domain/celFast.ts) must answer exactly as CEL's
 * interpreter does, or not at all. Every expression below is run both ways over every ticket value,
 * and over random tickets: where the direct path answers, it is the interpreter's answer.
 */
import { Environment } from '@marcbachmann/cel-js';
import fc from 'fast-check';
import { fastCondition, UNSURE } from '../../src/domain/celFast';
import { compileCondition } from '../../src/domain/conditions';

const env = new Environment({ unlistedVariablesAreDyn: true });

/** The interpreter's verdict as compileCondition reports it: true / false, or an error. */
function interpreted(source: string, ticket: Record<string, unknown>): boolean | 'error' {
  try {
    const v: unknown = env.parse(source)({ ticket });
    return typeof v === 'boolean' ? v : 'error';
  } catch (err) {
    return (err as { code?: string }).code === 'no_such_key' ? false : 'error';
  }
}

const EXPRESSIONS = [
  'ticket.state in ["New", "Assigned", "In Progress"]',
  'ticket.state in ["Resolved", "Closed"]',
  'ticket.priority in [1, 2]',
  'ticket.priority in [1.5, 2.0]',
  'ticket.state in []',
  'ticket.priority == 1',
  'ticket.priority == 1.0',
  '1 == ticket.priority',
  'ticket.priority != 2',
  'ticket.priority <= 2',
  'ticket.priority < 2',
  'ticket.priority > 2',
  'ticket.priority >= 2.5',
  '3 > ticket.priority',
  'ticket.state == "On Hold"',
  'ticket.state != "New"',
  'ticket.vip == true',
  'ticket["sub state"] == "x"',
  'ticket.state != "New" && ticket.priority <= 2',
  'ticket.state == "New" || ticket.priority == 1',
  '!(ticket.state == "On Hold")',
  '!(ticket.priority <= 2) && ticket.vip == false',
  'true',
  'false',
];

const VALUES: unknown[] = ['New', 'On Hold', 'Closed', 'x', '', '1', 1, 2, 2.5, 3, 0, -0, 1e300, true, false, null, [1], { a: 1 }];

const tickets: Record<string, unknown>[] = [{ id: 'T' }];
for (const v of VALUES) {
  tickets.push({ id: 'T', state: v }, { id: 'T', priority: v }, { id: 'T', vip: v }, { id: 'T', 'sub state': v });
  tickets.push({ id: 'T', state: v, priority: v, vip: v });
  for (const w of ['New', 'On Hold', 1, 2, true]) tickets.push({ id: 'T', state: v, priority: w, vip: w });
}

describe('direct path for simple CEL conditions', () => {
  test('every expression of the table compiles to the direct path', () => {
    for (const source of EXPRESSIONS) expect([source, fastCondition(env.parse(source).ast) !== null]).toEqual([source, true]);
  });

  test('where it answers, it is the interpreter answer, for every expression and ticket of the table', () => {
    let answered = 0;
    for (const source of EXPRESSIONS) {
      const fast = fastCondition(env.parse(source).ast)!;
      for (const ticket of tickets) {
        const r = fast(ticket);
        if (r === UNSURE) continue;
        answered++;
        expect([source, ticket, r]).toEqual([source, ticket, interpreted(source, ticket)]);
      }
    }
    // It answers the ordinary cases (strings and numbers compared with their own kind).
    expect(answered).toBeGreaterThan((EXPRESSIONS.length * tickets.length) / 4);
  });

  test('compileCondition gives the interpreter result on every path (direct or not)', () => {
    for (const source of EXPRESSIONS) {
      const condition = compileCondition(source);
      for (const ticket of tickets) {
        const r = condition.evaluate(ticket as never);
        const want = interpreted(source, ticket);
        expect([source, ticket, r.ok ? r.value : 'error']).toEqual([source, ticket, want]);
      }
    }
  });

  test('random tickets: the direct path never disagrees with the interpreter', () => {
    const value = fc.oneof(fc.constantFrom('New', 'On Hold', 'Closed', '1', ''), fc.integer({ min: -3, max: 5 }), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null));
    const ticket = fc.record({ state: value, priority: value, vip: value }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.constantFrom(...EXPRESSIONS), ticket, (source, t) => {
        const r = fastCondition(env.parse(source).ast)!({ id: 'T', ...t });
        return r === UNSURE || r === interpreted(source, { id: 'T', ...t });
      }),
      { numRuns: 3000 },
    );
  });

  test('expressions outside its reach are left to the interpreter', () => {
    for (const source of [
      'ticket.state.startsWith("N")',
      'size(ticket.tags) > 0',
      'ticket.priority + 1 == 2',
      'ticket.state in ticket.allowed',
      '[1, 2].exists(x, x == ticket.priority)',
      'ticket.a.b == 1',
      'ticket.priority == 9007199254740993',
    ]) {
      expect([source, fastCondition(env.parse(source).ast)]).toEqual([source, null]);
    }
  });

  test('a condition is compiled once per source and shared', () => {
    expect(compileCondition('ticket.priority == 7')).toBe(compileCondition('ticket.priority == 7'));
  });
});
