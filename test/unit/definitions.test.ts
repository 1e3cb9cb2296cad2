import { parseDefinitions } from '../../src/domain/definitions';
import { parseDuration } from '../../src/domain/duration';
import { parseTicket } from '../../src/domain/ticket';

describe('durations', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['4h', 14400],
    ['1h30m', 5400],
    ['2d', 172800],
    ['PT4H', 14400],
    ['P1DT2H', 93600],
    ['3600', 3600],
  ])('parses %s as %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(['', '4x', 'h', 'PT', '-5m'])('rejects %p', (text) => expect(() => parseDuration(text)).toThrow(/invalid duration/));
});

describe('definitions validation', () => {
  it('reads service targets as a union on `type`: request by default, an unknown kind named', () => {
    const target = { id: 'T', appliesTo: 'true', stop: 'false', goal: { duration: '1h' } };
    expect(parseDefinitions({ serviceTargets: [target] }).serviceTargets[0]!.type).toBe('request');
    expect(parseDefinitions({ serviceTargets: [{ ...target, type: 'request' }] }).serviceTargets[0]!.type).toBe('request');
    expect(() => parseDefinitions({ serviceTargets: [{ ...target, type: 'capacity' }] })).toThrow(
      'invalid definitions at serviceTargets[0].type: expected one of request, availability, performance',
    );
    // A CI target's own fields: a request target's `stop` is not one of them.
    expect(() => parseDefinitions({ serviceTargets: [{ ...target, type: 'availability' }] })).toThrow(/serviceTargets\[0\]/);
  });

  const good = { id: 'P1', appliesTo: 'ticket.priority == 1', stop: 'ticket.state == "Closed"', goal: { duration: '4h' } };

  it('accepts a minimal request target and fills defaults', () => {
    const defs = parseDefinitions({ serviceTargets: [good] });
    expect(defs.serviceTargets[0]).toMatchObject({ type: 'request', goal: { duration: 14400 } });
  });

  it('names the path of a bad CEL condition', () => {
    expect(() => parseDefinitions({ serviceTargets: [good, { ...good, id: 'P2', stop: 'ticket.state ==' }] })).toThrow(/serviceTargets\[1\]\.stop: invalid CEL/);
  });

  it('names the path of a bad goal', () => {
    expect(() => parseDefinitions({ serviceTargets: [{ ...good, goal: { duration: 'soon' } }] })).toThrow(/serviceTargets\[0\]\.goal\.duration/);
  });

  it('rejects duplicate ids and unknown fields instead of ignoring them', () => {
    expect(() => parseDefinitions({ serviceTargets: [good, good] })).toThrow(/duplicate id "P1"/);
    expect(() => parseDefinitions({ serviceTargets: [{ ...good, calender: 'eu' }] })).toThrow(/serviceTargets\[0\]/);
  });
});

describe('ticket validation', () => {
  it('accepts free-form fields next to id', () => {
    expect(parseTicket({ id: 'T1', priority: 2, nested: { a: [1, 'x'] } })).toMatchObject({ id: 'T1', nested: { a: [1, 'x'] } });
  });

  it.each([['2 normal'], ['1 - Critical'], ['High'], ['1'], [1.5], [{ level: 1 }], [null]])('accepts the free-form priority %j unchanged', (priority) => {
    expect(parseTicket({ id: 'T1', priority, state: 4 })).toEqual({ id: 'T1', priority, state: 4 });
  });

  it.each([
    [{}, /id: required/],
    [{ id: '' }, /id/],
    [{ id: 'T 1' }, /id: must not contain spaces/],
    [[1, 2], /JSON object/],
    [{ id: 'T1', when: new Date(0) }, /when: not a JSON value/],
    [{ id: 'T1', n: Infinity }, /n: numbers must be finite/],
  ])('rejects %j with a message naming the field', (input, message) => {
    expect(() => parseTicket(input)).toThrow(message);
  });
});

describe('required fields of a service target', () => {
  it('says that stop is required and what it is for', () => {
    expect(() => parseDefinitions({ serviceTargets: [{ id: 'X', appliesTo: 'true', goal: { duration: '1h' } }] })).toThrow(
      'invalid definitions at serviceTargets[0].stop: required: the condition that ends the measurement (Met or Missed), e.g. ticket.state in ["Resolved", "Closed"]',
    );
    expect(() => parseDefinitions({ serviceTargets: [{ id: 'X', appliesTo: 'true', stop: 'false' }] })).toThrow(/serviceTargets\[0\]\.goal: required: e\.g\. \{ duration: 4h \}/);
  });
});
