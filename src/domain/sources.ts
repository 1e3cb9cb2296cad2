/**
 * Ticket sources (seed 002: incident, change and request forms, each system with its own fields): the
 * definitions' `sources` section maps a ticketing system's native webhook body to our ticket with a
 * CEL expression per field, compiled once per definitions version, so `POST /v1/sources/{name}/events`
 * takes that system's webhook as it is. Pure: the API evaluates it, `slm replay`-style tests reach it.
 *
 * The expressions see `body` (the parsed JSON payload) and `headers` (lower-case names). A field whose
 * expression yields null is left out of the ticket; an expression that fails (a missing field, a type
 * error) rejects that one event with the reason; the next event is mapped afresh. Ticket ids are the
 * source's own id behind the source's prefix (`zammad:10081`), so they stay unique across sources.
 */
import { z } from 'zod';
import { compileCondition, compileExpression, type Condition, type Expression } from './conditions';
import { parseTicket, type Ticket, type TicketValue } from './ticket';

const sourceName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -, starting with a letter (at most 40)');

/**
 * The schema of one source, made on demand: the workflow worker freezes what domain modules export
 * (preloadModules), and zod completes a schema lazily on first use, so no schema object is exported.
 */
export const sourceSchema = () =>
  z
    .object({
      name: sourceName,
      title: z.string().optional(),
      /** Put before the source's own id; default `<name>:`. An empty prefix is allowed for a single source. */
      idPrefix: z.string().max(40).optional(),
      /** CEL over `body`/`headers`: events for which it is false are acknowledged and ignored. Default: every event. */
      accept: z.string().min(1).optional(),
      /** Our ticket's fields, each a CEL expression over `body` and `headers`. `id` is required. */
      fields: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a field name of letters, digits and _'), z.string().min(1)).refine((f) => 'id' in f, {
        message: 'required: fields.id, the expression of the source ticket id',
      }),
    })
    .strict();

export type SourceDefinition = z.infer<ReturnType<typeof sourceSchema>>;

export interface CompiledSource {
  name: string;
  prefix: string;
  accept: Condition | null;
  fields: [string, Expression][];
}

export class SourceMappingError extends Error {
  override name = 'SourceMappingError';
}

/** Compiles a source's expressions; throws naming the field (`sources[1].fields.state: invalid CEL …`). */
export function compileSource(def: SourceDefinition, where: string): CompiledSource {
  const compile = <T>(path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new SourceMappingError(`${where}.${path}: ${(err as Error).message}`);
    }
  };
  return {
    name: def.name,
    prefix: def.idPrefix ?? `${def.name}:`,
    accept: def.accept === undefined ? null : compile('accept', () => compileCondition(def.accept!)),
    fields: Object.entries(def.fields).map(([field, source]) => [field, compile(`fields.${field}`, () => compileExpression(source))]),
  };
}

export type MappedEvent = { kind: 'ticket'; ticket: Ticket } | { kind: 'ignored'; reason: string };

/**
 * One webhook body → our ticket (validated like any snapshot), or `ignored` when the source's
 * `accept` says so. Throws a SourceMappingError naming the field whose expression failed.
 */
export function mapSourceEvent(source: CompiledSource, body: unknown, headers: Record<string, string> = {}): MappedEvent {
  const vars = { body: body as Record<string, unknown>, headers };
  if (source.accept) {
    // A condition is evaluated over a ticket; the accept rule reads `body` and `headers`, so an empty one stands in.
    const ok = source.accept.evaluate({ id: '' }, vars);
    if (!ok.ok) throw new SourceMappingError(`source ${source.name}: accept: ${ok.reason}`);
    if (!ok.value) return { kind: 'ignored', reason: `source ${source.name}: the event does not pass accept` };
  }
  const out: Record<string, TicketValue> = {};
  for (const [field, expr] of source.fields) {
    const r = expr.evaluate(vars);
    if (!r.ok) throw new SourceMappingError(`source ${source.name}: fields.${field}: ${r.reason}`);
    const value = toJson(r.value);
    if (value === undefined) throw new SourceMappingError(`source ${source.name}: fields.${field}: not a JSON value`);
    if (value !== null) out[field] = value;
  }
  const own = out.id;
  if (typeof own !== 'string' && typeof own !== 'number') {
    throw new SourceMappingError(`source ${source.name}: fields.id: must give a string or a number, got ${own === undefined ? 'null' : typeof own}`);
  }
  try {
    return { kind: 'ticket', ticket: parseTicket({ ...out, id: `${source.prefix}${String(own)}` }) };
  } catch (err) {
    throw new SourceMappingError(`source ${source.name}: ${(err as Error).message}`);
  }
}

/** A CEL value as JSON: ints (bigint) as numbers, maps as objects; undefined for what JSON cannot hold. */
function toJson(v: unknown): TicketValue | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    const items = v.map(toJson);
    return items.some((x) => x === undefined) ? undefined : (items as TicketValue[]);
  }
  if (v instanceof Map) return toJson(Object.fromEntries(v));
  if (typeof v === 'object') {
    const out: Record<string, TicketValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const j = toJson(x);
      if (j === undefined) return undefined;
      out[k] = j;
    }
    return out;
  }
  return undefined;
}

/**
 * The order of two snapshots of one ticket by their `updatedAt` (an instant, ISO 8601 with any offset
 * including Jira's `+0000`, or a source version number): 'older' when `next` is strictly older than
 * `applied`. Snapshots without it, or of different kinds, are not ordered ('unordered'): applied.
 */
export function snapshotOrder(applied: Ticket | null | undefined, next: Ticket): 'older' | 'same-or-newer' | 'unordered' {
  const a = versionOf(applied?.updatedAt);
  const b = versionOf(next.updatedAt);
  if (a === null || b === null || a.kind !== b.kind) return 'unordered';
  return b.value < a.value ? 'older' : 'same-or-newer';
}

export function versionOf(v: TicketValue | undefined): { kind: 'instant' | 'number'; value: number } | null {
  if (typeof v === 'number' && Number.isFinite(v)) return { kind: 'number', value: v };
  if (typeof v !== 'string') return null;
  const ms = parseInstant(v);
  return ms === null ? null : { kind: 'instant', value: ms };
}

/** ISO 8601 date-times with `Z`, `±hh:mm` or `±hhmm`; null for anything else (no local times, no guesses). */
export function parseInstant(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})$/.exec(text.trim());
  if (!m) return null;
  const zone = m[2] === 'Z' ? 'Z' : `${m[2]!.slice(0, 3)}:${m[2]!.slice(-2)}`;
  const ms = Date.parse(`${m[1]}${zone}`);
  return Number.isFinite(ms) ? ms : null;
}
