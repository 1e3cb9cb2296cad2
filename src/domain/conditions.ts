/**
 * Conditions are CEL expressions over `ticket`. Each is compiled once per definition version and
 * evaluated many times. Evaluation follows DESIGN §4.3: reading a field the ticket does not have makes
 * the condition false; any other evaluation error (a type mismatch) is reported so the measurement
 * can become Invalid with the reason.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { Ticket } from './ticket';

export type ConditionResult = { ok: true; value: boolean } | { ok: false; reason: string };
/** `vars` binds more names beside `ticket` (the connector's rules read `previous` and `problem`). */
export type Condition = { source: string; evaluate(ticket: Ticket, vars?: Record<string, unknown>): ConditionResult };
export type ExpressionResult = { ok: true; value: unknown } | { ok: false; reason: string };
export type Expression = { source: string; evaluate(vars: Record<string, unknown>): ExpressionResult };

const env = new Environment({ unlistedVariablesAreDyn: true });

export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
}

/** Parses `source`; throws ConditionSyntaxError with the parser's first line on bad syntax. */
function parse(source: string): (ctx: Record<string, unknown>) => unknown {
  try {
    return env.parse(source);
  } catch (err) {
    throw new ConditionSyntaxError(`invalid CEL "${source}": ${firstLine(err)}`);
  }
}

/** Compiles a boolean condition over `ticket`. */
export function compileCondition(source: string): Condition {
  const program = parse(source);
  return {
    source,
    evaluate(ticket, vars) {
      try {
        const value = program(vars ? { ...vars, ticket } : { ticket });
        if (typeof value !== 'boolean') return { ok: false, reason: `"${source}" is not a boolean (got ${typeof value})` };
        return { ok: true, value };
      } catch (err) {
        if ((err as { code?: string }).code === 'no_such_key') return { ok: true, value: false };
        return { ok: false, reason: `"${source}": ${firstLine(err)}` };
      }
    },
  };
}

/** A CEL expression of any type (the connector's field mapping); a missing field is an error here. */
export function compileExpression(source: string): Expression {
  const program = parse(source);
  return {
    source,
    evaluate(vars) {
      try {
        return { ok: true, value: program(vars) };
      } catch (err) {
        return { ok: false, reason: `"${source}": ${firstLine(err)}` };
      }
    },
  };
}

const ALWAYS: Condition = { source: 'true', evaluate: () => ({ ok: true, value: true }) };
const NEVER: Condition = { source: 'false', evaluate: () => ({ ok: true, value: false }) };

export function compileOptional(source: string | undefined, fallback: 'always' | 'never'): Condition {
  if (source === undefined) return fallback === 'always' ? ALWAYS : NEVER;
  return compileCondition(source);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? 'error';
}
