/**
 * ServiceNow encoded queries (`sysparm_query`), the subset SNOW-facing clients use: `^` AND, `^OR`
 * OR, `^NQ` a new query OR-ed with the previous, operators `=`, `!=`, `>=`, `<=`, `>`, `<`,
 * `STARTSWITH`, `LIKE`, `IN`; `ORDERBY`/`ORDERBYDESC` parts sort (see `orderByOf`). A term on a field the record
 * does not have does not match. `sys_updated_on` values compare as text, which their fixed
 * "YYYY-MM-DD HH:mm:ss" format makes chronological.
 */
type Term = { field: string; op: string; value: string };

const OPERATORS = ['STARTSWITH', 'LIKE', 'IN', '!=', '>=', '<=', '=', '>', '<'];

function parseTerm(text: string): Term | null {
  if (text === '' || text.startsWith('ORDERBY')) return null;
  for (const op of OPERATORS) {
    const at = text.indexOf(op);
    if (at > 0) return { field: text.slice(0, at), op, value: text.slice(at + op.length) };
  }
  return null;
}

function lookup(record: Record<string, unknown>, field: string): unknown {
  return field.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), record);
}

function matchTerm(record: Record<string, unknown>, t: Term): boolean {
  const raw = lookup(record, t.field);
  if (raw === undefined || raw === null) return t.op === '!=';
  const v = typeof raw === 'string' ? raw : JSON.stringify(raw);
  switch (t.op) {
    case '=':
      return v === t.value;
    case '!=':
      return v !== t.value;
    case '>=':
      return v >= t.value;
    case '<=':
      return v <= t.value;
    case '>':
      return v > t.value;
    case '<':
      return v < t.value;
    case 'STARTSWITH':
      return v.startsWith(t.value);
    case 'LIKE':
      return v.includes(t.value);
    case 'IN':
      return t.value.split(',').includes(v);
    default:
      return false;
  }
}

/** True when `record` matches `query` (an empty query matches everything). */
export function matchesEncodedQuery(record: Record<string, unknown>, query: string): boolean {
  if (query.trim() === '') return true;
  return query.split('^NQ').some((part) => {
    // Within one query, `^OR` binds tighter than `^`: a^b^ORc means a AND (b OR c).
    const groups: Term[][] = [];
    for (const piece of part.split('^')) {
      const isOr = piece.startsWith('OR') && groups.length > 0 && parseTerm(piece.slice(2)) !== null;
      const term = parseTerm(isOr ? piece.slice(2) : piece);
      if (!term) continue;
      if (isOr) groups[groups.length - 1]!.push(term);
      else groups.push([term]);
    }
    return groups.every((alts) => alts.some((t) => matchTerm(record, t)));
  });
}

/** The `ORDERBY<field>` / `ORDERBYDESC<field>` parts of a query, in order of precedence. */
export function orderByOf(query: string): { field: string; descending: boolean }[] {
  return query
    .split('^')
    .filter((p) => p.startsWith('ORDERBY'))
    .map((p) => (p.startsWith('ORDERBYDESC') ? { field: p.slice(11), descending: true } : { field: p.slice(7), descending: false }))
    .filter((o) => o.field !== '');
}
