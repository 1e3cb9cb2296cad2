/**
 * Conditions are CEL expressions over `ticket`. Each is compiled once per definition version and
 * evaluated many times. Evaluation follows DESIGN §4.3: reading a field the ticket does not have makes
 * the condition false; any other evaluation error (a type mismatch) is reported so the measurement
 * can become Invalid with the reason.
 */
import { Environment } from '@marcbachmann/cel-js';
import { CelCostError, checkStaticCost, meter, withinBudget } from './celBudget';
import { comparisonReads, fastCondition, UNSURE, type FastCondition } from './celFast';
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
function parse(source: string, root = 'ticket'): Program {
  let program: ((ctx: Record<string, unknown>) => unknown) & { ast?: unknown };
  let loops: number;
  try {
    program = env.parse(source);
    loops = checkStaticCost(program.ast);
  } catch (err) {
    throw new ConditionSyntaxError(`invalid CEL "${short(source)}": ${firstLine(err)}`);
  }
  // Without a macro every node runs at most once: bounded by the parser's node limit, no meter needed.
  if (loops === 0) return { run: program, fast: fastCondition(program.ast, root) };
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

/** Compiles a boolean condition over `ticket` (or over another root: `ci` for the terms of CI targets). */
export function compileCondition(source: string, root = 'ticket'): Condition {
  const cacheKey = root === 'ticket' ? source : `${root}\u0000${source}`;
  const known = conditionCache.get(cacheKey);
  if (known) return known;
  const { run, fast } = parse(source, root);
  const condition: Condition = {
    source,
    evaluate(ticket, vars) {
      if (fast && !vars) {
        const r = fast(ticket);
        if (r !== UNSURE) return r ? TRUE : FALSE;
      }
      try {
        const value = run(vars ? { ...vars, [root]: ticket } : { [root]: ticket });
        if (typeof value !== 'boolean') return { ok: false, reason: `"${source}" is not a boolean (got ${typeof value})` };
        return value ? TRUE : FALSE;
      } catch (err) {
        if (err instanceof CelCostError) return { ok: false, reason: `"${short(source)}": ${err.message}` };
        if ((err as { code?: string }).code === 'no_such_key') return FALSE;
        return { ok: false, reason: `"${source}": ${firstLine(err)}` };
      }
    },
  };
  conditionCache.set(cacheKey, condition);
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

export function compileOptional(source: string | undefined, fallback: 'always' | 'never', root = 'ticket'): Condition {
  if (source === undefined) return fallback === 'always' ? ALWAYS : NEVER;
  return compileCondition(source, root);
}

// ── KPI expressions (performance targets, DESIGN §4.7) ──────────────────────────────────────────

/**
 * KPI expressions read `kpi` (the CI's current value of each KPI by name) and may aggregate with
 * avg / sum / min / max over a list. Division is checked: `x / 0` is an error (CEL's doubles would
 * give an infinity that then compares silently), which makes the measurement Invalid with the reason.
 */
const kpiEnv = new Environment({ unlistedVariablesAreDyn: true, limits: { maxAstNodes: 5000, maxDepth: 100, maxListElements: 1000 } });
const numbers = (name: string, list: unknown[]): number[] => {
  if (list.length === 0) throw new Error(`${name}() of an empty list`);
  return list.map((x) => {
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || Number.isNaN(n)) throw new Error(`${name}() over a value that is not a number (${typeof x === 'string' ? JSON.stringify(x) : typeof x})`);
    return n;
  });
};
kpiEnv.registerFunction('avg(list): double', (l: unknown[]) => numbers('avg', l).reduce((a, b) => a + b, 0) / l.length);
kpiEnv.registerFunction('sum(list): double', (l: unknown[]) => numbers('sum', l).reduce((a, b) => a + b, 0));
kpiEnv.registerFunction('min(list): double', (l: unknown[]) => Math.min(...numbers('min', l)));
kpiEnv.registerFunction('max(list): double', (l: unknown[]) => Math.max(...numbers('max', l)));
kpiEnv.registerFunction('__div(dyn, dyn): dyn', (a: unknown, b: unknown) => {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (b === 0n) throw new Error('division by zero');
    return a / b;
  }
  const x = typeof a === 'bigint' ? Number(a) : a;
  const y = typeof b === 'bigint' ? Number(b) : b;
  if (typeof x !== 'number' || typeof y !== 'number') throw new Error('division of a value that is not a number');
  if (y === 0) throw new Error('division by zero');
  return x / y;
});

/** How a KPI expression came out: a boolean, a read of a KPI with no current value, or an error. */
export type KpiResult = { ok: true; value: boolean } | { ok: false; missing: string | null; reason: string };
export type KpiExpression = { source: string; evaluate(kpi: Record<string, number | string>): KpiResult };

interface CelNode {
  op: string;
  args: unknown;
  start?: number;
  end?: number;
}
const isCelNode = (v: unknown): v is CelNode => typeof v === 'object' && v !== null && 'op' in v;

/** The source with every `a / b` written as `__div(a, b)`, using the parser's node positions. */
function checkedDivision(source: string, ast: unknown): string {
  const text = (node: CelNode): string => {
    const children: CelNode[] = [];
    const collect = (v: unknown) => {
      if (isCelNode(v)) children.push(v);
      else if (Array.isArray(v)) v.forEach(collect);
    };
    collect(node.args);
    if (node.op === '/' && children.length === 2) return `__div(${text(children[0]!)}, ${text(children[1]!)})`;
    let out = '';
    let at = node.start!;
    for (const c of children.filter((c) => c.start !== undefined).sort((a, b) => a.start! - b.start!)) {
      out += source.slice(at, c.start) + text(c);
      at = c.end!;
    }
    return out + source.slice(at, node.end);
  };
  return isCelNode(ast) && ast.start !== undefined ? text(ast) : source;
}

const kpiCache = new Map<string, KpiExpression>();
const KPI_TRUE: KpiResult = Object.freeze({ ok: true, value: true });
const KPI_FALSE: KpiResult = Object.freeze({ ok: true, value: false });

/**
 * Compiles a boolean KPI expression; throws ConditionSyntaxError on bad syntax. `direct: false`
 * leaves every evaluation to the interpreter (the tests compare the two paths).
 */
export function compileKpiExpression(source: string, opts: { direct?: boolean } = {}): KpiExpression {
  const direct = opts.direct ?? true;
  const cacheKey = direct ? source : `slow\u0000${source}`;
  const known = kpiCache.get(cacheKey);
  if (known) return known;
  let program: ((ctx: Record<string, unknown>) => unknown) & { ast?: unknown };
  let loops: number;
  try {
    const first = kpiEnv.parse(source) as typeof program;
    loops = checkStaticCost(first.ast);
    program = source.includes('/') ? (kpiEnv.parse(checkedDivision(source, first.ast)) as typeof program) : first;
  } catch (err) {
    throw new ConditionSyntaxError(`invalid CEL "${short(source)}": ${firstLine(err)}`);
  }
  // As for conditions: without a macro every node runs at most once (no meter), and the common shapes
  // (a KPI or an aggregate of KPIs compared with a literal) take the direct path; a read of a missing
  // KPI in a single comparison is known without letting the interpreter throw.
  const fast = direct && loops === 0 ? fastCondition(program.ast, 'kpi') : null;
  const reads = direct && loops === 0 ? comparisonReads(program.ast) : null;
  let run: (ctx: Record<string, unknown>) => unknown = program;
  if (loops > 0) {
    meter(program.ast);
    run = (ctx) => withinBudget(() => program(ctx));
  }
  const missingKpi = (name: string): KpiResult => ({ ok: false, missing: name, reason: `"${short(source)}": no current value of KPI ${name}` });
  const expression: KpiExpression = {
    source,
    evaluate(kpi) {
      if (fast) {
        const r = fast(kpi);
        if (r !== UNSURE) return r ? KPI_TRUE : KPI_FALSE;
      }
      if (reads) {
        for (const names of reads) {
          let missing: string | null = null;
          for (const name of names) if (!Object.prototype.hasOwnProperty.call(kpi, name)) missing = name;
          if (missing !== null) return missingKpi(missing);
        }
      }
      try {
        const value = run({ kpi });
        if (typeof value !== 'boolean') return { ok: false, missing: null, reason: `"${short(source)}" is not a boolean (got ${typeof value})` };
        return value ? KPI_TRUE : KPI_FALSE;
      } catch (err) {
        if (err instanceof CelCostError) return { ok: false, missing: null, reason: `"${short(source)}": ${err.message}` };
        if ((err as { code?: string }).code === 'no_such_key') {
          const m = /No such key: (\S+)/.exec(firstLine(err));
          return missingKpi(m?.[1] ?? '?');
        }
        return { ok: false, missing: null, reason: `"${short(source)}": ${firstLine(err)}` };
      }
    },
  };
  kpiCache.set(cacheKey, expression);
  if (kpiCache.size > 2000) kpiCache.delete(kpiCache.keys().next().value!);
  return expression;
}

/** A long expression shortened for a reason line. */
function short(source: string): string {
  return source.length > 80 ? `${source.slice(0, 77)}…` : source;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? 'error';
}
