/**
 * A direct path for the conditions most service targets are made of — `ticket.state in ["New", …]`,
 * `ticket.priority == 1`, `ticket.priority <= 2`, `ticket.state != "New"`, joined by `&&`, `||` and
 * `!` — compiled from the parser's AST to plain JavaScript closures. The interpreter walks its AST and
 * resolves operator overloads on every evaluation; these conditions are evaluated for every target
 * at every ticket change, in every workflow and replay.
 *
 * The direct path answers only where its answer is certainly CEL's: fields that are present and hold
 * a string, a finite number or a boolean, compared with a literal of the same kind. Anything else (a
 * missing field, null, a list, a string compared with a number, a type error) returns UNSURE and the
 * interpreter decides, with its exact semantics and error texts. `test/unit/celFast.test.ts` compares
 * both paths over every pairing of these expressions and values.
 *
 * The AST shape is @marcbachmann/cel-js's (pinned): `{ op, args }` with `op` one of `.`, `[]`, `id`,
 * `value`, `list`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `&&`, `||`, `!_`.
 */

/** The direct path cannot say; ask the interpreter. */
export const UNSURE = 2;
export type FastResult = boolean | typeof UNSURE;
export type FastCondition = (ticket: Record<string, unknown>) => FastResult;

interface AstNode {
  op: string;
  args: unknown;
}

type Scalar = string | number | boolean;
/** A scalar, or UNSURE when the value is not one the direct path compares exactly. */
type Getter = (ticket: Record<string, unknown>) => Scalar | typeof NOT_SCALAR;
const NOT_SCALAR = Symbol('not a scalar');

const isNode = (v: unknown): v is AstNode => typeof v === 'object' && v !== null && 'op' in v;

/** A literal as a JS scalar, or undefined when it is not one (bytes, null, an int past 2⁵³). */
function literal(node: unknown): Scalar | undefined {
  if (!isNode(node) || node.op !== 'value') return undefined;
  const v = node.args;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  return undefined;
}

/** The KPI aggregates (conditions.ts registers them for KPI expressions), as the interpreter computes them. */
const AGGREGATES: Record<string, (xs: number[]) => number> = {
  avg: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length,
  sum: (xs) => xs.reduce((a, b) => a + b, 0),
  min: (xs) => Math.min(...xs),
  max: (xs) => Math.max(...xs),
};

/** `avg([kpi.a, kpi.b])` and the like (KPI expressions only): the value when every element is a present finite number. */
function aggregate(node: unknown): Getter | undefined {
  if (rootName !== 'kpi' || !isNode(node) || node.op !== 'call' || !Array.isArray(node.args)) return undefined;
  const [name, callArgs] = node.args as [unknown, unknown];
  const fn = typeof name === 'string' ? AGGREGATES[name] : undefined;
  if (!fn || !Array.isArray(callArgs) || callArgs.length !== 1) return undefined;
  const list: unknown = callArgs[0];
  if (!isNode(list) || list.op !== 'list' || !Array.isArray(list.args) || list.args.length === 0) return undefined;
  const getters = list.args.map((x) => fieldOnly(x));
  if (getters.some((g) => !g)) return undefined;
  const gs = getters as Getter[];
  return (kpi) => {
    const xs: number[] = [];
    for (const g of gs) {
      const v = g(kpi);
      if (typeof v !== 'number') return NOT_SCALAR;
      xs.push(v);
    }
    return fn(xs);
  };
}

/**
 * The KPI names a KPI expression reads, per operand, when it is one comparison between fields,
 * aggregates of fields and literals: both operands are evaluated before the comparison, so a missing
 * KPI among them is certainly the interpreter's `no such key` — for the first operand that has one,
 * and within an aggregate's list the last missing element (the pinned interpreter's order; the tests
 * compare both paths). Null for any other shape.
 */
export function comparisonReads(ast: unknown): string[][] | null {
  if (!isNode(ast) || !['==', '!=', '<', '<=', '>', '>='].includes(ast.op) || !Array.isArray(ast.args) || ast.args.length !== 2) return null;
  const equality = ast.op === '==' || ast.op === '!=';
  const operand = (n: unknown): string[] | null => {
    if (!isNode(n)) return null;
    if (n.op === 'value') return [];
    const name = kpiName(n);
    if (name !== undefined) return [name];
    if (!equality && n.op === 'call' && Array.isArray(n.args) && typeof n.args[0] === 'string' && n.args[0] in AGGREGATES && Array.isArray(n.args[1]) && n.args[1].length === 1) {
      const list: unknown = n.args[1][0];
      if (!isNode(list) || list.op !== 'list' || !Array.isArray(list.args)) return null;
      const names: string[] = [];
      for (const x of list.args) {
        const inner = isNode(x) ? (x.op === 'value' ? [] : kpiName(x) !== undefined ? [kpiName(x)!] : null) : null;
        if (inner === null) return null;
        names.push(...inner);
      }
      return names;
    }
    return null;
  };
  const left = operand(ast.args[0]);
  const right = operand(ast.args[1]);
  return left && right ? [left, right] : null;
}

function kpiName(node: AstNode): string | undefined {
  if ((node.op !== '.' && node.op !== '[]') || !Array.isArray(node.args)) return undefined;
  const [target, key] = node.args as [unknown, unknown];
  if (!isNode(target) || target.op !== 'id' || target.args !== 'kpi') return undefined;
  const name = node.op === '.' ? key : literal(key);
  return typeof name === 'string' ? name : undefined;
}

/** `ticket.name` or `ticket["name"]`; in KPI expressions also an aggregate of KPIs. */
function field(node: unknown): Getter | undefined {
  return fieldOnly(node) ?? aggregate(node);
}

function fieldOnly(node: unknown): Getter | undefined {
  if (!isNode(node) || (node.op !== '.' && node.op !== '[]') || !Array.isArray(node.args)) return undefined;
  const [target, key] = node.args as [unknown, unknown];
  if (!isNode(target) || target.op !== 'id' || target.args !== rootName) return undefined;
  const name = node.op === '.' ? key : literal(key);
  if (typeof name !== 'string') return undefined;
  return (ticket) => {
    if (!Object.prototype.hasOwnProperty.call(ticket, name)) return NOT_SCALAR;
    const v = ticket[name];
    if (typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    return NOT_SCALAR;
  };
}

function comparison(op: string, get: Getter, lit: Scalar, fieldOnLeft: boolean): FastCondition | undefined {
  const kind = typeof lit;
  if (op === '==' || op === '!=') {
    const want = op === '==';
    // Of different kinds CEL's equality is false; of the same kind it is JS's strict equality.
    return (t) => {
      const v = get(t);
      if (v === NOT_SCALAR || typeof v !== kind) return UNSURE;
      return (v === lit) === want;
    };
  }
  // Ordering only between numbers: CEL orders strings by code point, JS by UTF-16 unit.
  if (kind !== 'number') return undefined;
  const n = lit as number;
  const cmp: Record<string, (a: number, b: number) => boolean> = {
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
  };
  const f = cmp[op];
  if (!f) return undefined;
  return (t) => {
    const v = get(t);
    if (typeof v !== 'number') return UNSURE;
    return fieldOnLeft ? f(v, n) : f(n, v);
  };
}

/** Compiles `node` for the direct path, or undefined when it holds anything the path does not take. */
function compile(node: unknown): FastCondition | undefined {
  if (!isNode(node)) return undefined;
  const args = node.args;
  switch (node.op) {
    case 'value':
      return typeof args === 'boolean' ? () => args : undefined;
    case '!_': {
      const inner = compile(args);
      if (!inner) return undefined;
      return (t) => {
        const r = inner(t);
        return r === UNSURE ? UNSURE : !r;
      };
    }
    case '&&':
    case '||': {
      if (!Array.isArray(args) || args.length !== 2) return undefined;
      const a = compile(args[0]);
      const b = compile(args[1]);
      if (!a || !b) return undefined;
      const and = node.op === '&&';
      // Either side unsure: the interpreter decides (CEL absorbs errors commutatively).
      return (t) => {
        const x = a(t);
        if (x === UNSURE) return UNSURE;
        const y = b(t);
        if (y === UNSURE) return UNSURE;
        return and ? x && y : x || y;
      };
    }
    case 'in': {
      if (!Array.isArray(args) || args.length !== 2) return undefined;
      const get = field(args[0]);
      const list: unknown = args[1];
      if (!get || !isNode(list) || list.op !== 'list' || !Array.isArray(list.args)) return undefined;
      const items = list.args.map(literal);
      if (items.some((x) => x === undefined)) return undefined;
      const kinds = new Set(items.map((x) => typeof x));
      if (kinds.size > 1) return undefined;
      const set = new Set(items as Scalar[]);
      const kind: string | undefined = kinds.values().next().value;
      return (t) => {
        const v = get(t);
        if (v === NOT_SCALAR) return UNSURE;
        if (typeof v !== kind) return set.size === 0 ? false : UNSURE;
        return set.has(v);
      };
    }
    case '==':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!Array.isArray(args) || args.length !== 2) return undefined;
      const [l, r] = args as [unknown, unknown];
      // An aggregate is declared double: CEL refuses `avg(…) == 70` (double == int) before evaluating
      // it, so equality with an aggregate is left to the interpreter; ordering across numbers is fine.
      const operand = node.op === '==' || node.op === '!=' ? fieldOnly : field;
      const lf = operand(l);
      const rl = literal(r);
      if (lf && rl !== undefined) return comparison(node.op, lf, rl, true);
      const rf = operand(r);
      const ll = literal(l);
      if (rf && ll !== undefined) return comparison(node.op, rf, ll, false);
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The direct path for a parsed condition, or null when the interpreter must run it every time. */
/** The variable the condition reads fields of while `fastCondition` compiles (`ticket`, or `ci`). */
let rootName = 'ticket';

export function fastCondition(ast: unknown, root = 'ticket'): FastCondition | null {
  rootName = root;
  try {
    return compile(ast) ?? null;
  } finally {
    rootName = 'ticket';
  }
}
