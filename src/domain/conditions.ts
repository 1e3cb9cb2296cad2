/**
 * Conditions are CEL expressions over `ticket`. Each is compiled once per definition version and
 * evaluated many times. Evaluation follows DESIGN §4.3: reading a field the ticket does not have makes
 * the condition false; any other evaluation error (a type mismatch) is reported so the measurement
 * can become Invalid with the reason.
 */
import { Environment } from '@marcbachmann/cel-js';
import { CelCostError, checkStaticCost, meter, withinBudget } from './celBudget';
import { fastCondition, UNSURE, type FastCondition } from './celFast';
import type { Ticket } from './ticket';

export type ConditionResult = { ok: true; value: boolean } | { ok: false; reason: string };
/** `vars` binds more names beside `ticket` (the connector's rules read `previous` and `problem`). */
export type Condition = { source: string; evaluate(ticket: Ticket, vars?: Record<string, unknown>): ConditionResult };
export type ExpressionResult = { ok: true; value: unknown } | { ok: false; reason: string };
export type Expression = { source: string; evaluate(vars: Record<string, unknown>): ExpressionResult };

/** Tighter parser limits than the library's defaults: a condition is a line, not a program. */
const env = new Environment({ unlistedVariablesAreDyn: true, limits: { maxAstNodes: 5000, maxDepth: 100, maxListElements: 10000 } });

export class ConditionSyntaxError extends Error {
  override name = 'ConditionSyntaxError';
}

/**
 * Parses `source`; throws ConditionSyntaxError with the parser's first line on bad syntax, or on an
 * expression too expensive to evaluate (see celBudget). The program it returns runs within the step
 * budget and throws CelCostError past it.
 */
function parse(source: string): Program {
  let program: ((ctx: Record<string, unknown>) => unknown) & { ast?: unknown };
  let loops: number;
  try {
    program = env.parse(source);
    loops = checkStaticCost(program.ast);
  } catch (err) {
    throw new ConditionSyntaxError(`invalid CEL "${short(source)}": ${firstLine(err)}`);
  }
  // Without a macro every node runs at most once: bounded by the parser's node limit, no meter needed.
  if (loops === 0) return { run: program, fast: fastCondition(program.ast) };
  meter(program.ast);
  return { run: (ctx) => withinBudget(() => program(ctx)), fast: null };
}

type Program = { run: (ctx: Record<string, unknown>) => unknown; fast: FastCondition | null };

const TRUE: ConditionResult = Object.freeze({ ok: true, value: true });
const FALSE: ConditionResult = Object.freeze({ ok: true, value: false });

/**
 * Compiled conditions by source. A memo of a pure function (a source always compiles to the same
 * condition, which holds no state), so the targets that share a condition share one object and the
 * engine evaluates it once per ticket change.
 */
const conditionCache = new Map<string, Condition>();

/** Compiles a boolean condition over `ticket`. */
export function compileCondition(source: string): Condition {
  const known = conditionCache.get(source);
  if (known) return known;
  const { run, fast } = parse(source);
  const condition: Condition = {
    source,
    evaluate(ticket, vars) {
      if (fast && !vars) {
        const r = fast(ticket);
        if (r !== UNSURE) return r ? TRUE : FALSE;
      }
      try {
        const value = run(vars ? { ...vars, ticket } : { ticket });
        if (typeof value !== 'boolean') return { ok: false, reason: `"${source}" is not a boolean (got ${typeof value})` };
        return value ? TRUE : FALSE;
      } catch (err) {
        if (err instanceof CelCostError) return { ok: false, reason: `"${short(source)}": ${err.message}` };
        if ((err as { code?: string }).code === 'no_such_key') return FALSE;
        return { ok: false, reason: `"${source}": ${firstLine(err)}` };
      }
    },
  };
  conditionCache.set(source, condition);
  if (conditionCache.size > 2000) conditionCache.delete(conditionCache.keys().next().value!);
  return condition;
}

/** A CEL expression of any type (the connector's field mapping); a missing field is an error here. */
export function compileExpression(source: string): Expression {
  const program = parse(source).run;
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

/** A long expression shortened for a reason line. */
function short(source: string): string {
  return source.length > 80 ? `${source.slice(0, 77)}…` : source;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? 'error';
}
