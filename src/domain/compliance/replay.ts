/**
 * `slm compliance replay` (DESIGN §4.8): tickets, CIs and samples evaluated offline by the engines
 * the workflows run, their measurements counted into the agreements' records by the compliance book
 * the live records use. Timers — due instants, milestones, missing-data expiries, period ends and
 * forecast crossings — fire at their instants, in time order across every ticket and CI, before a
 * later event. Pure: the CLI reads the files and prints the lines this returns.
 */
import { BusinessCalendar } from '../calendar';
import { compileDefinitions, mergeDefinitions, parseDefinitions, type Definitions } from '../definitions';
import { advance, applyDefinitionsChange, applyTicketChange, engineEnv, newEngineState, nextWake, type EngineEnv, type TicketEngineState } from '../request/engine';
import { advanceCi, applyCiChange, applyCiDefinitionsChange, applyKpiReadings, newCiState, nextCiWake, type CiEngineState } from '../ci/engine';
import { parseCi, parseKpiSample } from '../ci/ci';
import { parseTicket } from '../ticket';
import { snapshotOrder } from '../sources';
import { ReplayError, type ReplayEvent } from '../replay';
import { ComplianceBook, type ComplianceEffect } from './book';
import { complianceEnv } from './env';
import { ciFactOf, factKey, requestFactOf, tenantOf, type Fact } from './facts';
import type { ComplianceRecordView } from './record';

export interface ComplianceReplayLine {
  check: string;
  at: string;
  compliance: ComplianceRecordView[];
}

export interface ComplianceReplayResult {
  lines: ComplianceReplayLine[];
  /** Milestone actions and settlements, in the order they happened. */
  effects: ComplianceEffect[];
}

/** What replay holds at an instant it processed (an event, or a timer): for tests that drive the live store with the same steps. */
export interface ReplayInstant {
  at: number;
  tickets: TicketEngineState[];
  cis: CiEngineState[];
}

export function complianceReplay(definitions: unknown, events: ReplayEvent[], opts: { onInstant?: (i: ReplayInstant) => void } = {}): ComplianceReplayResult {
  let defs: Definitions;
  try {
    defs = parseDefinitions(definitions);
  } catch (err) {
    throw new ReplayError((err as Error).message);
  }
  const start = events.length ? events[0]!.at : 0;
  // The definitions file holds from the beginning: its agreements count every fact; one added by a later line counts from that line.
  const definedAt = new Map<string, number>(defs.agreements.map((a) => [a.id, -Infinity]));
  let count = 1;
  const makeEnv = (d: Definitions, label: string | undefined): EngineEnv => engineEnv(compileDefinitions(d, label ?? String(count)), (cal) => BusinessCalendar.fromSpec(cal));
  let env = makeEnv(defs, defs.version);
  const compliance = () =>
    complianceEnv(
      defs,
      (id) => env.calendar(id),
      (id) => definedAt.get(id) ?? -Infinity,
    );
  const book = new ComplianceBook(compliance());
  const tickets = new Map<string, TicketEngineState>();
  const cis = new Map<string, CiEngineState>();
  const effects: ComplianceEffect[] = [];
  const lines: ComplianceReplayLine[] = [];

  const ticketFacts = (s: TicketEngineState): Fact[] => {
    const tenant = tenantOf(s.ticket, defs.tenantField);
    return s.measurements.map((m) => requestFactOf(s.ticketId, m, tenant, book.state.requests[factKey(s.ticketId, m)] ?? null));
  };
  /** Each CI's tenant over time: a segment counts for the tenant the CI carried when it began. */
  const tenants = new Map<string, { from: number; tenant: string | null }[]>();
  const tenantAt = (ciId: string) => (t: number) => {
    let found: string | null = null;
    for (const h of tenants.get(ciId) ?? []) if (h.from <= t) found = h.tenant;
    return found;
  };
  const ciFacts = (s: CiEngineState, fromStart = false): Fact[] =>
    s.measurements.map((m) => ciFactOf(s.ciId, m, fromStart ? 0 : (book.state.cis[factKey(s.ciId, m)]?.nextSeq ?? 0), tenantAt(s.ciId)));
  const allFacts = (): Fact[] => [...[...tickets.values()].flatMap(ticketFacts), ...[...cis.values()].flatMap((s) => ciFacts(s))];
  const count_ = (facts: Fact[]) => facts.forEach((f) => book.apply(f));

  let now = start;
  /** Every timer due at or before `until`, in time order. */
  const runUntil = (until: number) => {
    for (;;) {
      let w = book.nextWake(now);
      for (const s of tickets.values()) {
        const t = nextWake(s);
        if (t !== null && (w === null || t < w)) w = t;
      }
      for (const s of cis.values()) {
        const t = nextCiWake(s);
        if (t !== null && (w === null || t < w)) w = t;
      }
      if (w === null || w > until) break;
      w = Math.max(w, now);
      for (const s of tickets.values()) advance(s, env, w);
      for (const s of cis.values()) advanceCi(s, env, w);
      count_(allFacts());
      effects.push(...book.step(w));
      opts.onInstant?.({ at: w, tickets: [...tickets.values()], cis: [...cis.values()] });
      now = w;
      if (w === until) break;
    }
  };

  for (const event of events) {
    try {
      runUntil(event.at);
      now = event.at;
      if ('ticket' in event) {
        const ticket = parseTicket(event.ticket);
        let s = tickets.get(ticket.id);
        if (!s) tickets.set(ticket.id, (s = newEngineState(ticket.id)));
        if (snapshotOrder(s.ticket, ticket) === 'older') continue;
        applyTicketChange(s, env, ticket, event.at);
        count_(ticketFacts(s));
      } else if ('ci' in event) {
        const ci = parseCi(event.ci);
        let s = cis.get(ci.id);
        if (!s) cis.set(ci.id, (s = newCiState(ci.id)));
        const history = tenants.get(ci.id) ?? [];
        const tenant = tenantOf(ci, defs.tenantField);
        if (!history.length || history[history.length - 1]!.tenant !== tenant) tenants.set(ci.id, [...history, { from: event.at, tenant }]);
        applyCiChange(s, env, ci, event.at);
        count_(ciFacts(s));
      } else if ('kpi' in event) {
        const k = parseKpiSample(event.kpi, event.at, 'kpi');
        let s = cis.get(k.ci);
        if (!s) cis.set(k.ci, (s = newCiState(k.ci)));
        applyKpiReadings(s, env, { [k.name]: { value: k.value, at: k.at } }, event.at);
        count_(ciFacts(s));
      } else if ('definitions' in event) {
        const before = new Set(defs.agreements.map((a) => a.id));
        defs = mergeDefinitions(defs, event.definitions);
        count++;
        for (const a of defs.agreements) if (!before.has(a.id)) definedAt.set(a.id, event.at);
        const next = makeEnv(defs, (event.definitions as { version?: unknown } | null)?.version === undefined ? undefined : defs.version);
        for (const s of tickets.values()) applyDefinitionsChange(s, env, next, event.at);
        for (const s of cis.values()) applyCiDefinitionsChange(s, env, next, event.at);
        env = next;
        // The records still open are recounted under the new definitions; closed ones keep their figures.
        book.rebuild(compliance(), [...[...tickets.values()].flatMap(ticketFacts), ...[...cis.values()].flatMap((s) => ciFacts(s, true))], event.at);
      }
      effects.push(...book.step(event.at));
      opts.onInstant?.({ at: event.at, tickets: [...tickets.values()], cis: [...cis.values()] });
      if ('check' in event) lines.push({ check: event.check, at: new Date(event.at).toISOString(), compliance: book.views(event.at) });
    } catch (err) {
      if (err instanceof ReplayError) throw err;
      throw new ReplayError(`line ${event.line}: ${(err as Error).message}`);
    }
  }
  const end = events.length ? events[events.length - 1]!.at : 0;
  runUntil(end);
  effects.push(...book.step(end));
  opts.onInstant?.({ at: end, tickets: [...tickets.values()], cis: [...cis.values()] });
  lines.push({ check: 'end', at: new Date(end).toISOString(), compliance: book.views(end) });
  return { lines, effects };
}
