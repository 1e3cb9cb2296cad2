/**
 * Cost bounds for CEL (issue: one expensive condition must never take a worker down). CEL has no
 * loops, but its list macros (`all`, `exists`, `map`, `filter`, …) nest, and nested macros over long
 * lists multiply: ten nested `all` over ten elements is 10¹⁰ steps. Two bounds:
 *
 * - at compile time (definitions apply), `staticCost` rejects macros nested deeper than
 *   MAX_MACRO_NESTING and nests over literal lists whose sizes multiply past EVALUATION_STEP_BUDGET;
 * - at run time, `meter` counts every node the evaluator visits and stops an evaluation after
 *   EVALUATION_STEP_BUDGET of them (lists taken from the ticket have sizes no compile can know), so
 *   the worst case is an error that makes that one measurement Invalid, not a stuck worker. Only
 *   expressions with a macro are metered: without one, each node runs at most once.
 *
 * The counting relies on how @marcbachmann/cel-js (pinned) dispatches: each AST node's `evaluate`.
 * `test/unit/inputs.test.ts` fails if an upgrade changes that.
 */

/** Nodes one evaluation may visit: a few milliseconds of work, far above a realistic condition (10–200 steps, or ~10 per element of a list it scans). */
export const EVALUATION_STEP_BUDGET = 50_000;
/** List macros inside list macros inside list macros, at most. */
export const MAX_MACRO_NESTING = 3;

export class CelCostError extends Error {
  override name = 'CelCostError';
}

interface Node {
  op: string;
  args: unknown;
  meta: { alternate?: unknown; macro?: unknown };
}

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && 'op' in v && 'meta' in v;

function visit(v: unknown, seen: Set<unknown>, fn: (n: Node) => void): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const x of v) visit(x, seen, fn);
    return;
  }
  if (isNode(v)) {
    fn(v);
    visit(v.args, seen, fn);
    visit(v.meta.alternate, seen, fn);
    visit(v.meta.macro, seen, fn);
    return;
  }
  for (const x of Object.values(v)) visit(x, seen, fn);
}

/**
 * Rejects (CelCostError) an expression whose list macros nest deeper than MAX_MACRO_NESTING, or whose
 * nested macros over literal lists would take more than the step budget. Returns how deep its macros
 * nest: 0 means no loop at all, so its evaluation visits each node at most once and needs no metering.
 */
export function checkStaticCost(ast: unknown): number {
  let worstDepth = 0;
  let worstProduct = 1;
  const walk = (v: unknown, depth: number, product: number, seen: Set<unknown>): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth, product, seen);
      return;
    }
    if (!isNode(v)) {
      for (const x of Object.values(v)) walk(x, depth, product, seen);
      return;
    }
    // A macro call: its expansion (the comprehension) holds the same predicate nodes.
    if (v.meta.alternate) return walk(v.meta.alternate, depth, product, seen);
    if (v.op === 'comprehension') {
      const args = v.args as { iterable: unknown; init: unknown; step: unknown };
      const iterable = args.iterable;
      const size = isNode(iterable) && iterable.op === 'list' && Array.isArray(iterable.args) ? Math.max(1, iterable.args.length) : 1;
      walk(iterable, depth, product, seen);
      const inner = depth + 1;
      const cost = product * size;
      worstDepth = Math.max(worstDepth, inner);
      worstProduct = Math.max(worstProduct, cost);
      walk(args.init, inner, cost, seen);
      walk(args.step, inner, cost, seen);
      return;
    }
    walk(v.args, depth, product, seen);
    walk(v.meta.macro, depth, product, seen);
  };
  walk(ast, 0, 1, new Set());
  if (worstDepth > MAX_MACRO_NESTING) throw new CelCostError(`too expensive: list macros nested ${worstDepth} deep (at most ${MAX_MACRO_NESTING})`);
  if (worstProduct > EVALUATION_STEP_BUDGET) {
    throw new CelCostError(
      `too expensive: nested list macros over ${worstProduct.toLocaleString('en-US')} element combinations (at most ${EVALUATION_STEP_BUDGET.toLocaleString('en-US')})`,
    );
  }
  return worstDepth;
}

/** Steps left in the evaluation running now; evaluations are synchronous, so one counter serves all. */
let remaining = Infinity;

/**
 * Makes every node of `ast` count against the budget of the evaluation in progress. The node's
 * dispatcher replaces its own `evaluate` on first use (and type checks may replace it again); an
 * accessor keeps whatever it stores and hands out a counting wrapper.
 */
export function meter(ast: unknown): void {
  visit(ast, new Set(), (node) => {
    let current = (node as unknown as { evaluate: (...a: unknown[]) => unknown }).evaluate;
    // The dispatcher's own arity (evaluator, node, context): no rest-array per step.
    const counted = function (this: unknown, ev: unknown, node: unknown, ctx: unknown): unknown {
      if (--remaining < 0) throw new CelCostError(`stopped after ${EVALUATION_STEP_BUDGET.toLocaleString('en-US')} evaluation steps (the budget of one condition)`);
      return current.call(this, ev, node, ctx);
    };
    Object.defineProperty(node, 'evaluate', {
      configurable: true,
      get: () => counted,
      set: (fn: (...a: unknown[]) => unknown) => {
        current = fn;
      },
    });
  });
}

/** Runs one evaluation within the step budget. Nested calls share the outer budget. */
export function withinBudget<T>(fn: () => T): T {
  if (remaining !== Infinity) return fn();
  remaining = EVALUATION_STEP_BUDGET;
  try {
    return fn();
  } finally {
    remaining = Infinity;
  }
}
