/**
 * `npm run bench -- replay [--tickets 100000] [--rounds 3]`
 *
 * The domain reducer alone (what `slm replay` and every ticket workflow run): N tickets × 3 service
 * targets on an office calendar with milestones, about ten events each (new, assigned, on hold,
 * resumed, priority changes that move a ticket between group members, resolution, a reopen and a
 * close), with timers firing between them. Prints ticket events/s and measurement updates/s per round
 * and the medians.
 */
import { parseArgs } from 'node:util';
import { BusinessCalendar } from '../../src/domain/calendar';
import { compileDefinitions, parseDefinitions } from '../../src/domain/definitions';
import { applyTicketChange, engineEnv, newEngineState } from '../../src/domain/request/engine';
import type { Ticket } from '../../src/domain/ticket';
import { median } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');

const office = {
  id: 'office',
  timezone: 'Europe/Berlin',
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['08:00', '18:00']]])),
  holidays: ['2026-04-03', '2026-04-06', '2026-05-01', '2026-12-25'],
};
const conditions = {
  start: 'ticket.state in ["New", "Assigned", "In Progress", "On Hold"]',
  stop: 'ticket.state in ["Resolved", "Closed"]',
  exclude: 'ticket.state == "On Hold"',
};
export const DEFINITIONS = {
  calendars: [office],
  serviceTargets: [
    {
      id: 'P1-resolution',
      appliesTo: 'ticket.priority == 1',
      ...conditions,
      goal: { duration: '4h' },
      calendar: 'office',
      group: 'resolution',
      milestones: [{ name: 'warn-75', at: { percentOfGoal: 75 } }],
    },
    {
      id: 'P2-resolution',
      appliesTo: 'ticket.priority == 2',
      ...conditions,
      goal: { duration: '8h' },
      calendar: 'office',
      group: 'resolution',
      milestones: [{ name: 'warn-75', at: { percentOfGoal: 75 } }],
    },
    { id: 'response', appliesTo: 'ticket.priority <= 2', stop: 'ticket.state != "New"', goal: { duration: '30m' }, milestones: [{ name: 'late', at: { afterDue: '15m' } }] },
  ],
};

/** A deterministic pseudo-random generator (mulberry32), so every round measures the same work. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATES = ['New', 'Assigned', 'In Progress', 'On Hold', 'In Progress', 'In Progress', 'Resolved', 'In Progress', 'Resolved', 'Closed'];

export function historyOf(i: number, random: () => number): { ticket: Ticket; at: number }[] {
  let at = Date.UTC(2026, 2, 2, 6, 0, 0) + Math.floor(random() * 200 * 86400_000);
  let priority = random() < 0.5 ? 1 : 2;
  return STATES.map((state, k) => {
    at += Math.floor(random() * 6 * 3600_000);
    if (k === 4 && random() < 0.3) priority = 3 - priority; // moves to the other group member
    return { ticket: { id: `T${i}`, state, priority }, at };
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { tickets: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.tickets);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error('--tickets and --rounds must be whole numbers ≥ 1');
  const env = engineEnv(compileDefinitions(parseDefinitions(DEFINITIONS), '1'), (cal) => BusinessCalendar.fromSpec(cal));

  say(`replay benchmark: ${n} tickets × 3 service targets × ${STATES.length} events, office calendar (Europe/Berlin, holidays), milestones; ${rounds} rounds`);
  const eventRates: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const random = rng(42);
    const histories = Array.from({ length: n }, (_, i) => historyOf(i, random));
    const statuses: Record<string, number> = {};
    let events = 0;
    let firings = 0;
    const t0 = process.hrtime.bigint();
    for (const history of histories) {
      const state = newEngineState(history[0]!.ticket.id);
      for (const { ticket, at } of history) {
        applyTicketChange(state, env, ticket, at);
        events++;
      }
      for (const m of state.measurements) {
        statuses[m.status] = (statuses[m.status] ?? 0) + 1;
        firings += m.firings.length;
      }
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rate = events / seconds;
    eventRates.push(rate);
    say(
      `round ${round}: ${events} ticket events in ${seconds.toFixed(2)} s — ${Math.round(rate).toLocaleString('en')} events/s, ` +
        `${Math.round((events * 3) / seconds).toLocaleString('en')} target evaluations/s; ${firings} milestone firings; final statuses ${JSON.stringify(statuses)}`,
    );
  }
  const m = median(eventRates);
  say(`median: ${Math.round(m).toLocaleString('en')} ticket events/s (${Math.round(m * 3).toLocaleString('en')} target evaluations/s)`);
}
