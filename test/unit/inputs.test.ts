/**
 * What comes in from users: tickets of any shape within bounds, merge patches, conditions whose cost
 * is bounded, negative numbers on the command line, SNOW's errors, the `.env` file, and the one-line
 * messages a failure of Temporal or the database turns into.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ApplicationFailure } from '@temporalio/common';
import { failureFor, retryAfterSeconds } from '../../src/clients/tmf';
import { describeFailure } from '../../src/cli/errors';
import { numericValues } from '../../src/cli/main';
import { dotEnv, loadConfig } from '../../src/config';
import { EVALUATION_STEP_BUDGET } from '../../src/domain/celBudget';
import { compileCondition, compileExpression } from '../../src/domain/conditions';
import { compileConnector, connectorSchema } from '../../src/domain/snow/connector';
import { parseDefinitions } from '../../src/domain/definitions';
import { ProblemMappingError, toServiceProblem } from '../../src/domain/snow/serviceProblem';
import { MAX_TICKET_BYTES, mergePatch, parseTicket, parseTicketPatch, priorityRank } from '../../src/domain/ticket';
import { ticketDetails } from '../../src/domain/ticketDetails';

describe('ticket bounds', () => {
  it('rejects a ticket over the size limit with one line naming the limit, before any work', () => {
    const started = Date.now();
    expect(() => parseTicket({ id: 'BIG3', blob: 'x'.repeat(3 * 1024 * 1024) })).toThrow(
      `invalid ticket: the ticket is larger than ${MAX_TICKET_BYTES / 1024} KiB of JSON (the limit per ticket)`,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('counts multi-byte characters as UTF-8 bytes', () => {
    expect(() => parseTicket({ id: 'T1', text: '€'.repeat(90 * 1024) })).toThrow(/larger than 256 KiB/); // 270 KiB in UTF-8
    expect(parseTicket({ id: 'T1', text: 'e'.repeat(90 * 1024) }).id).toBe('T1');
  });

  it('rejects a ticket nested 2,000 levels deep with one clear line, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = { a: deep };
    expect(() => parseTicket({ id: 'DEEP', deep })).toThrow(/^invalid ticket: deep(\.a)+: nested more than 32 levels deep$/);
  });
});

describe('free-form priorities', () => {
  it.each([
    [2, 2],
    ['2 normal', 2],
    ['1 - Critical', 1],
    ['1', 1],
    ['  3 low', 3],
    ['High', null],
    [null, null],
  ])('ranks %j as %j (leading number) for sorting', (v, rank) => {
    expect(priorityRank(v as never)).toBe(rank);
  });

  it("maps text priorities with leading digits to SNOW's integer priority, and refuses the rest on the problem with the reason", () => {
    expect(toServiceProblem({ id: 'Z1', priority: '2 normal' }).priority).toBe(2);
    expect(toServiceProblem({ id: 'S1', priority: '1 - Critical' }).priority).toBe(1);
    expect(toServiceProblem({ id: 'N1', priority: '12' }).priority).toBe(10);
    expect(() => toServiceProblem({ id: 'J1', priority: 'High' })).toThrow(ProblemMappingError);
    expect(() => toServiceProblem({ id: 'J1', priority: 'High' })).toThrow(/priority "High" has no TMF656 priority .* connector\.mapping\.priority/);
  });

  it('takes a mapping rule for named priorities (Jira)', () => {
    const c = compileConnector(connectorSchema().parse({ mapping: { priority: '{"Highest": 1, "High": 2, "Medium": 3}[ticket.priority]' } }));
    expect(toServiceProblem({ id: 'J1', priority: 'High' }, c).priority).toBe(2);
  });
});

describe('merge patches (RFC 7386)', () => {
  it('replaces, adds, removes with null and merges nested objects; arrays are replaced whole', () => {
    const base = { id: 'T1', state: 'New', priority: 1, tags: ['a', 'b'], meta: { a: 1, b: 2 } };
    expect(mergePatch(base, { summary: 'x', priority: null, tags: ['c'], meta: { b: null, c: 3 } })).toEqual({
      id: 'T1',
      state: 'New',
      tags: ['c'],
      meta: { a: 1, c: 3 },
      summary: 'x',
    });
  });

  it('refuses a patch that changes or removes the id', () => {
    expect(() => parseTicketPatch({ id: 'T2' }, 'T1')).toThrow(/cannot change or remove the id/);
    expect(() => parseTicketPatch({ id: null }, 'T1')).toThrow(/cannot change or remove the id/);
    expect(parseTicketPatch({ id: 'T1', state: 'x' }, 'T1')).toEqual({ id: 'T1', state: 'x' });
    expect(() => parseTicketPatch([1], 'T1')).toThrow(/expected a JSON object/);
  });
});

describe('cost bounds of CEL', () => {
  const nest = (levels: number, list = '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]') => {
    let body = Array.from({ length: levels }, (_, i) => `v${i}`).join(' + ') + ' > 0';
    for (let i = levels - 1; i >= 0; i--) body = `${list}.all(v${i}, ${body})`;
    return body;
  };

  it('rejects at compile time list macros nested deeper than three', () => {
    expect(() => compileCondition(nest(7))).toThrow(/too expensive: list macros nested 7 deep \(at most 3\)/);
  });

  it('rejects at compile time nested macros over literal lists that multiply past the budget', () => {
    const big = `[${Array.from({ length: 300 }, (_, i) => i).join(', ')}]`;
    expect(() => compileCondition(nest(2, big))).toThrow(/90,000 element combinations/);
    expect(compileCondition(nest(2)).evaluate({ id: 'T1' })).toEqual({ ok: true, value: true });
  });

  it('names the field of a too expensive condition when definitions are applied', () => {
    expect(() => parseDefinitions({ serviceTargets: [{ id: 'X', appliesTo: nest(7), stop: 'false', goal: { duration: '1h' } }] })).toThrow(
      /^invalid definitions at serviceTargets\[0\]\.appliesTo: invalid CEL .*too expensive/,
    );
  });

  it('stops an evaluation over a long list from the ticket at the step budget, with the reason, and goes on with the next', () => {
    const c = compileCondition('ticket.l.all(a, ticket.l.all(b, ticket.l.all(c, a + b + c >= 0.0)))');
    const started = Date.now();
    const r = c.evaluate({ id: 'T1', l: Array.from({ length: 300 }, (_, i) => i) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining(`stopped after ${EVALUATION_STEP_BUDGET.toLocaleString('en-US')} evaluation steps`) as unknown });
    // The budget is per evaluation: the next one starts afresh.
    expect(c.evaluate({ id: 'T1', l: [1, 2, 3] })).toEqual({ ok: true, value: true });
    expect(compileExpression('ticket.l.map(x, x)').evaluate({ ticket: { l: Array.from({ length: 100000 }, () => 1) } }).ok).toBe(false);
  });
});

describe('the command line', () => {
  it('reads a negative number after an option as its value', () => {
    expect(numericValues(['--id', 'T1', '--priority', '-1', '--state', 'New'])).toEqual(['--id', 'T1', '--priority=-1', '--state', 'New']);
    expect(numericValues(['--json', '-h'])).toEqual(['--json', '-h']);
  });

  it('turns a gRPC error of Temporal into one line naming the cause', () => {
    const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
    const wrapped = (cause: Error) => Object.assign(new Error('Failed to start workflow'), { cause });
    expect(describeFailure(wrapped(grpc(3, 'search attribute SlmTicketId is not defined')), { namespace: 'default' })).toBe(
      "the namespace default has no search attribute SlmTicketId: run `slm setup` to register the project's search attributes",
    );
    expect(describeFailure(grpc(5, 'Namespace nope is not found.'), { temporalAddress: '127.0.0.1:7233', namespace: 'nope' })).toMatch(
      /^Temporal at 127\.0\.0\.1:7233 has no namespace "nope"/,
    );
    expect(describeFailure(grpc(14, 'connection refused'), { temporalAddress: 'h:1' })).toBe('cannot reach Temporal at h:1: connection refused');
    expect(describeFailure(Object.assign(new Error('database "x" does not exist'), { code: '3D000' }))).toBe('database: database "x" does not exist (SQLSTATE 3D000)');
  });
});

describe('SNOW failures (STYLE §7)', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it('retries a 409 conflict and still refuses other 4xx', () => {
    expect(failureFor('PATCH /x', 409, '{}').nonRetryable).toBe(false);
    expect(failureFor('PATCH /x', 409, '{}').type).toBe('TmfConflict');
    expect(failureFor('PATCH /x', 400, '{}').nonRetryable).toBe(true);
  });

  it('honours Retry-After as seconds and as an HTTP date', () => {
    expect(retryAfterSeconds('30', now)).toBe(30);
    expect(retryAfterSeconds('Mon, 30 Nov 2026 12:02:00 GMT', now)).toBe(120);
    expect(retryAfterSeconds('Mon, 30 Nov 2026 11:00:00 GMT', now)).toBeUndefined();
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    const f: ApplicationFailure = failureFor('POST /x', 429, '', 'Mon, 30 Nov 2026 12:00:45 GMT', now);
    expect(f.nextRetryDelay).toBe('45s');
    expect(failureFor('POST /x', 503, '', '7', now).nextRetryDelay).toBe('7s');
  });
});

describe('the .env file', () => {
  it('is read from the working folder, below the environment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-env-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, '# comment\nEMULATOR_PORT=9111\nTMF_MAX_CONCURRENT=3\n');
    const vars = dotEnv({ SLM_ENV_FILE: file });
    expect(loadConfig({ ...vars, TMF_MAX_CONCURRENT: '4' })).toMatchObject({ EMULATOR_PORT: 9111, TMF_MAX_CONCURRENT: 4 });
    expect(() => dotEnv({ SLM_ENV_FILE: path.join(dir, 'missing') })).toThrow(/SLM_ENV_FILE: cannot read/);
  });
});

describe('what the Temporal UI shows of a ticket', () => {
  it('names the ticket, its state, priority, breach and next due, and says when it waits out the reopen window', () => {
    const text = ticketDetails({
      ticket: { id: 'T9', state: 'Resolved', priority: '2 normal' },
      measurements: [],
      problem: { id: 'SP1', incidentNumber: 'INC1', status: 'resolved' },
      lastError: null,
      reopenWindowEnds: Date.parse('2026-12-30T00:00:00Z'),
      rejected: 1,
    });
    expect(text).toContain('**Ticket T9** — state Resolved, priority "2 normal" (2)');
    expect(text).toContain('Breached: no · next due: —');
    expect(text).toContain('waiting out the reopen window until 2026-12-30T00:00:00Z');
    expect(text).toContain('SNOW: problem SP1 (INC1), resolved');
    expect(text).toContain('Refused changes: 1');
  });
});
