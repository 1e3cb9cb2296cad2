/**
 * The SNOW connector's rules (seed 000, steps 1–5), configurable in the definitions file's `connector`
 * section and versioned with it: the field mapping of a ticket to a TMF656 service problem, the
 * closure condition with its resolution note, the event condition that raises a TMF642 alarm, and
 * what a ticket does when SNOW changes its problem. All CEL, compiled once per definitions version.
 */
import { z } from 'zod';
import { clearedDevice } from './alarm';
import { compileCondition, compileExpression, type Condition, type Expression } from '../conditions';
import { isClosedState, type Ticket, type TicketValue } from '../ticket';

const cel = z.string().trim().min(1, 'must be a CEL expression');

const CONNECTOR = z
  .object({
    /**
     * Ticket states for which a service problem is created (seed step 1). Unset: the seed's New,
     * Assigned, In Progress, On Hold.
     */
    activeStates: z.array(z.string().min(1)).min(1).optional(),
    /** The ticket field whose clearing raises a TMF642 alarm when no `eventWhen` is set. Unset: `deviceIp`. */
    eventField: z.string().min(1).optional(),
    /** Closure condition (seed default): the problem is PATCHed to resolved with a note, then no longer synced. */
    closeWhen: cel.default('has(ticket.restoredBy) && ticket.restoredBy == "ses_group"'),
    /** The resolution note sent on closure (a CEL string expression). */
    resolutionNote: cel.default('"Restored by " + (has(ticket.restoredBy) ? string(ticket.restoredBy) : "the service desk") + " (ticket " + ticket.id + ")"'),
    /**
     * Event condition over `previous` and `ticket`; when it holds, a TMF642 alarm is raised for the
     * device `eventDevice` names. Default (when absent): the SNOW_EVENT_FIELD was set and is now cleared.
     */
    eventWhen: cel.optional(),
    eventDevice: cel.optional(),
    mapping: z
      .object({
        category: cel.default('has(ticket.category) && ticket.category != "" ? ticket.category : "incident"'),
        /**
         * TMF656 priority 1 (highest) … 10: a number, or text that starts with one (`"2 normal"`), rounded
         * and clamped. Anything else (`"High"`) leaves the problem unsent with the reason, until a rule maps it.
         */
        priority: cel.default('has(ticket.priority) ? ticket.priority : 5'),
        description: cel.default(
          'has(ticket.description) && ticket.description != "" ? ticket.description : has(ticket.title) && ticket.title != "" ? ticket.title : "Ticket " + ticket.id',
        ),
        reason: cel.default('has(ticket.reason) && ticket.reason != "" ? ticket.reason : has(ticket.state) ? ticket.state : "New"'),
        originator: cel.default('"temporal-slm"'),
        /** Ticket fields sent as characteristics: `rest` (every field not mapped above) or a list. */
        characteristics: z.union([z.literal('rest'), z.array(z.string().min(1))]).default('rest'),
      })
      .strict()
      .prefault({}),
    /** Reactions to SNOW's changes of the problem: a CEL condition over `problem` and `ticket`, and fields to set. */
    onRemoteChange: z
      .array(z.object({ when: cel, setField: z.record(z.string().min(1), z.json()).refine((o) => !('id' in o), { message: 'setField never sets id' }) }).strict())
      .default([]),
  })
  .strict();

/* An accessor, not the schema: the workflow worker shares this module between workflows and freezes its exports, and a frozen zod schema cannot parse. */
export const connectorSchema = () => CONNECTOR;
export type ConnectorDefinition = z.output<typeof CONNECTOR>;

export interface CompiledConnector {
  /** Null when the definitions leave it unset (runs of earlier releases then keep what they started with). */
  activeStates: string[] | null;
  eventField: string | null;
  closeWhen: Condition;
  resolutionNote: Expression;
  eventWhen: Condition | null;
  eventDevice: Expression | null;
  mapping: { category: Expression; priority: Expression; description: Expression; reason: Expression; originator: Expression; characteristics: 'rest' | string[] };
  onRemoteChange: { when: Condition; setField: Record<string, TicketValue> }[];
}

/** Compiles every expression; throws naming the field (`connector.mapping.priority: invalid CEL …`). */
export function compileConnector(c: ConnectorDefinition): CompiledConnector {
  const at = <T>(path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new Error(`connector.${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    activeStates: c.activeStates ?? null,
    eventField: c.eventField ?? null,
    closeWhen: at('closeWhen', () => compileCondition(c.closeWhen)),
    resolutionNote: at('resolutionNote', () => compileExpression(c.resolutionNote)),
    eventWhen: c.eventWhen === undefined ? null : at('eventWhen', () => compileCondition(c.eventWhen!)),
    eventDevice: c.eventDevice === undefined ? null : at('eventDevice', () => compileExpression(c.eventDevice!)),
    mapping: {
      category: at('mapping.category', () => compileExpression(c.mapping.category)),
      priority: at('mapping.priority', () => compileExpression(c.mapping.priority)),
      description: at('mapping.description', () => compileExpression(c.mapping.description)),
      reason: at('mapping.reason', () => compileExpression(c.mapping.reason)),
      originator: at('mapping.originator', () => compileExpression(c.mapping.originator)),
      characteristics: c.mapping.characteristics,
    },
    onRemoteChange: c.onRemoteChange.map((r, i) => ({ when: at(`onRemoteChange[${i}].when`, () => compileCondition(r.when)), setField: r.setField })),
  };
}

export const DEFAULT_CONNECTOR: CompiledConnector = compileConnector(CONNECTOR.parse({}));

/** A CEL result as plain JSON (CEL integers come back as BigInt). */
export function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** The text of a string expression, or `fallback` when it fails or is not a non-empty string. */
export function textOf(e: Expression, vars: Record<string, unknown>, fallback: string): string {
  const r = e.evaluate(vars);
  return r.ok && typeof r.value === 'string' && r.value.trim() !== '' ? r.value : fallback;
}

/**
 * The closure rule, in one place: the connector's `closeWhen` (the seed's `restoredBy == "ses_group"`
 * by default) or the ticket's own Resolved/Closed state. It decides the problem's resolved status and
 * when a ticket's run settles.
 */
export function ticketCloses(c: CompiledConnector, ticket: Ticket): boolean {
  return closes(c, ticket) || isClosedState(ticket);
}

/** Whether the closure condition holds (an evaluation error counts as not closing). */
export function closes(c: CompiledConnector, ticket: Ticket): boolean {
  const r = c.closeWhen.evaluate(ticket);
  return r.ok && r.value;
}

/**
 * The device of an event problem between two snapshots, or null. Without a configured `eventWhen`,
 * the seed's rule: `field` was set in `previous` and is cleared in `next`.
 */
export function eventDevice(c: CompiledConnector, previous: Ticket | null, next: Ticket, field: string): string | null {
  if (!previous) return null;
  if (!c.eventWhen) return clearedDevice(previous, next, field);
  const r = c.eventWhen.evaluate(next, { previous });
  if (!r.ok || !r.value) return null;
  let device: unknown = previous[field];
  if (c.eventDevice) {
    const d = c.eventDevice.evaluate({ previous, ticket: next });
    device = d.ok ? plain(d.value) : null;
  }
  return typeof device === 'string' && device !== '' ? device : typeof device === 'number' ? String(device) : null;
}

/** The fields the first matching `onRemoteChange` rules set (later rules win on the same field). */
export function remoteReaction(c: CompiledConnector, ticket: Ticket, problem: Record<string, unknown>): Record<string, TicketValue> | null {
  let fields: Record<string, TicketValue> | null = null;
  for (const rule of c.onRemoteChange) {
    const r = rule.when.evaluate(ticket, { problem });
    if (r.ok && r.value) fields = { ...(fields ?? {}), ...rule.setField };
  }
  return fields;
}
