/**
 * A ticket is a JSON object with at least `id`; every other field is free-form. This module validates
 * what callers send before it reaches a workflow, so a malformed ticket never poisons one.
 */
import { z } from 'zod';

export type TicketValue = string | number | boolean | null | TicketValue[] | { [key: string]: TicketValue };
export type Ticket = { id: string; state?: string; priority?: number } & { [key: string]: TicketValue };

const ticketSchema = z
  .object({
    id: z.string().trim().min(1, 'must be a non-empty string').max(200).regex(/^[^\s]+$/, 'must not contain spaces'),
    state: z.string().min(1).optional(),
    priority: z.number().int('must be an integer').min(0).max(10).optional(),
  })
  .catchall(z.json());

export class TicketValidationError extends Error {
  override name = 'TicketValidationError';
}

/** Returns the ticket or throws a one-line TicketValidationError naming the bad field. */
export function parseTicket(input: unknown): Ticket {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TicketValidationError('invalid ticket: expected a JSON object');
  }
  const parsed = ticketSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'ticket';
    throw new TicketValidationError(`invalid ticket: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

export function ticketWorkflowId(ticketId: string): string {
  return `ticket:${ticketId}`;
}
