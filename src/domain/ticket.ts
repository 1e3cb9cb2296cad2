/**
 * A ticket is a JSON object with at least `id`; every other field is free-form (DESIGN §1, §4.3):
 * `state` and `priority` too — Zammad sends `"2 normal"`, ServiceNow `"1 - Critical"`, Jira `"High"`.
 * This module validates what callers send before it reaches a workflow, so a malformed ticket never
 * poisons one, and bounds its size and nesting so that one ticket cannot exhaust a worker.
 */
import { z } from 'zod';

export type TicketValue = string | number | boolean | null | TicketValue[] | { [key: string]: TicketValue };
export type Ticket = { id: string } & { [key: string]: TicketValue };

/**
 * Largest ticket accepted, in bytes of its JSON (UTF-8). Well under Temporal's 2 MB payload limit:
 * a change carries the ticket in a workflow message and in the saved state, and a history holds many.
 */
export const MAX_TICKET_BYTES = 256 * 1024;
/** Deepest nesting of objects and arrays in a ticket. */
export const MAX_TICKET_DEPTH = 32;

const idSchema = z
  .string()
  .trim()
  .min(1, 'must be a non-empty string')
  .max(200, 'at most 200 characters')
  .regex(/^[^\s]+$/, 'must not contain spaces');

/**
 * A ticket as every front end's request schema states it (the HTTP API's body, its OpenAPI document):
 * `id` and free-form fields. `parseTicket` checks the rest (plain JSON, size, depth). Made on demand:
 * the workflow worker freezes what this module exports, and zod completes schemas lazily.
 */
export const ticketInputSchema = () => z.looseObject({ id: idSchema });

export class TicketValidationError extends Error {
  override name = 'TicketValidationError';
}

/** Returns the ticket or throws a one-line TicketValidationError naming the bad field. */
export function parseTicket(input: unknown): Ticket {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TicketValidationError('invalid ticket: expected a JSON object');
  }
  checkJson(input, 'invalid ticket');
  const id = idSchema.safeParse((input as Record<string, unknown>).id);
  if (!id.success) {
    const issue = id.error.issues[0]!;
    throw new TicketValidationError(`invalid ticket: id: ${'id' in input ? issue.message : 'required'}`);
  }
  return { ...(input as Record<string, TicketValue>), id: id.data };
}

/**
 * Checks that `value` is plain JSON within MAX_TICKET_DEPTH and MAX_TICKET_BYTES, without recursion
 * (a deeply nested document must get this error, not a stack overflow). Names the first bad path.
 */
export function checkJson(value: unknown, what: string): void {
  let bytes = 0;
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    const where = path || 'ticket';
    if (v === null || typeof v === 'boolean') bytes += 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TicketValidationError(`${what}: ${where}: numbers must be finite`);
      bytes += 24;
    } else if (typeof v === 'string') bytes += utf8Length(v) + 2;
    else if (typeof v === 'object') {
      if (depth >= MAX_TICKET_DEPTH) throw new TicketValidationError(`${what}: ${where}: nested more than ${MAX_TICKET_DEPTH} levels deep`);
      bytes += 2;
      if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]`, depth: depth + 1 }));
      else {
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) throw new TicketValidationError(`${what}: ${where}: not a JSON value`);
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          bytes += utf8Length(k) + 4;
          stack.push({ v: x, path: path ? `${path}.${k}` : k, depth: depth + 1 });
        }
      }
    } else throw new TicketValidationError(`${what}: ${where}: not a JSON value (${typeof v})`);
    if (bytes > MAX_TICKET_BYTES) {
      throw new TicketValidationError(`${what}: the ticket is larger than ${MAX_TICKET_BYTES / 1024} KiB of JSON (the limit per ticket)`);
    }
  }
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/** A scalar field as text (a state of `2` reads "2"); null for a missing field, an object or a list. */
export function textField(ticket: Ticket, field: string): string | null {
  const v = ticket[field];
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

/**
 * The leading whole number of a priority (`2`, `"2 normal"`, `"1 - Critical"`, `"1"` → 2, 2, 1, 1),
 * or null when it has none (`"High"`): what operators sort and filter by.
 */
export function priorityRank(v: TicketValue | undefined): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v : Math.round(v);
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d{1,9})(?!\d)/.exec(v);
  return m ? Number(m[1]) : null;
}

export function ticketWorkflowId(ticketId: string): string {
  return `ticket:${ticketId}`;
}

/** A JSON merge patch (RFC 7386) applied to a ticket: null removes a field, objects merge, the rest replaces. */
export function mergePatch(target: TicketValue | undefined, patch: TicketValue): TicketValue {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, TicketValue> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** Validates a merge patch for a ticket: an object within the limits that does not change or remove `id`. */
export function parseTicketPatch(input: unknown, ticketId: string): Record<string, TicketValue> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TicketValidationError('invalid ticket patch: expected a JSON object');
  checkJson(input, 'invalid ticket patch');
  const id = (input as Record<string, unknown>).id;
  if (id !== undefined && id !== ticketId) throw new TicketValidationError(`invalid ticket patch: id: cannot change or remove the id (the ticket is ${ticketId})`);
  return input as Record<string, TicketValue>;
}

/** The ticket's own state says it is over (resolved or closed). */
export function isClosedState(ticket: Ticket): boolean {
  const state = (textField(ticket, 'state') ?? '').toLowerCase();
  return state === 'resolved' || state === 'closed';
}
