/**
 * `slm replay` (DESIGN §4.3): a ticket history evaluated offline by the same engine the ticket
 * workflows run. Pure: the CLI reads the files and prints the lines this returns.
 */
import { BusinessCalendar } from './calendar';
import { compileDefinitions, mergeDefinitions, parseDefinitions, type Definitions } from './definitions';
import {
  advance,
  applyDefinitionsChange,
  applyTicketChange,
  engineEnv,
  newEngineState,
  type ActionEffect,
  type EngineEnv,
  type TicketEngineState,
} from './engine';
import { toView, type MeasurementView } from './measurement';
import { parseTicket } from './ticket';

export type ReplayEvent =
  | { at: number; line: number; ticket: unknown }
  | { at: number; line: number; definitions: unknown }
  | { at: number; line: number; check: string };

export interface ReplayOutput {
  check: string;
  at: string;
  measurements: MeasurementView[];
}

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** Parses a JSONL event log; throws a ReplayError naming the line. */
export function parseEvents(text: string): ReplayEvent[] {
  const events: ReplayEvent[] = [];
  let last = -Infinity;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(raw) as Record<string, unknown>;
    } catch (err) {
      throw new ReplayError(`line ${line}: not JSON (${(err as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ReplayError(`line ${line}: expected a JSON object`);
    const at = typeof obj.at === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(obj.at) ? Date.parse(obj.at) : NaN;
    if (Number.isNaN(at)) throw new ReplayError(`line ${line}: "at" must be an ISO 8601 instant with Z or an offset`);
    if (at < last) throw new ReplayError(`line ${line}: "at" goes back in time (events must be in order)`);
    last = at;
    const kinds = ['ticket', 'definitions', 'check'].filter((k) => k in obj);
    if (kinds.length !== 1) throw new ReplayError(`line ${line}: expected exactly one of "ticket", "definitions" or "check"`);
    if ('check' in obj) {
      if (typeof obj.check !== 'string') throw new ReplayError(`line ${line}: "check" must be a label string`);
      events.push({ at, line, check: obj.check });
    } else if ('ticket' in obj) events.push({ at, line, ticket: obj.ticket });
    else events.push({ at, line, definitions: obj.definitions });
  });
  return events;
}

/** Replays `events` over `definitions`; returns one output per check plus the "end" one. */
export function replay(definitions: unknown, events: ReplayEvent[], onEffect?: (e: ActionEffect) => void): ReplayOutput[] {
  let defs: Definitions;
  try {
    defs = parseDefinitions(definitions);
  } catch (err) {
    throw new ReplayError((err as Error).message);
  }
  // Measurements record the definitions version they used: the document's `version` label, else 1, 2, …
  let count = 1;
  const makeEnv = (d: Definitions, label: string | undefined) => engineEnv(compileDefinitions(d, label ?? String(count)), (cal) => BusinessCalendar.fromSpec(cal));
  let env: EngineEnv = makeEnv(defs, defs.version);
  const tickets = new Map<string, TicketEngineState>();
  const out: ReplayOutput[] = [];
  const emit = (effects: ActionEffect[]) => effects.forEach((e) => onEffect?.(e));

  const snapshot = (label: string, at: number): ReplayOutput => {
    const measurements: MeasurementView[] = [];
    for (const state of tickets.values()) {
      emit(advance(state, env, at));
      for (const m of state.measurements) measurements.push(toView(m, at, env.calendar(m.calendarId)));
    }
    return { check: label, at: new Date(at).toISOString(), measurements };
  };

  for (const event of events) {
    try {
      if ('ticket' in event) {
        const ticket = parseTicket(event.ticket);
        let state = tickets.get(ticket.id);
        if (!state) tickets.set(ticket.id, (state = newEngineState(ticket.id)));
        emit(applyTicketChange(state, env, ticket, event.at));
      } else if ('definitions' in event) {
        defs = mergeDefinitions(defs, event.definitions);
        count++;
        const next = makeEnv(defs, (event.definitions as { version?: unknown } | null)?.version === undefined ? undefined : defs.version);
        for (const state of tickets.values()) emit(applyDefinitionsChange(state, env, next, event.at));
        env = next;
      } else out.push(snapshot(event.check, event.at));
    } catch (err) {
      if (err instanceof ReplayError) throw err;
      throw new ReplayError(`line ${event.line}: ${(err as Error).message}`);
    }
  }
  const end = events.length ? events[events.length - 1]!.at : 0;
  out.push(snapshot('end', end));
  return out;
}
