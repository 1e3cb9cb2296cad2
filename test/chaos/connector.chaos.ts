/**
 * `npm run test:chaos`: the connector under faults, on real servers (dev server, PostgreSQL, the
 * emulator on loopback), with the tmf worker as its own process so it can be killed.
 *
 * 1. 1,000 tickets through create → two updates → close while SNOW answers 20 % 503, 5 % 429 with
 *    Retry-After, commits 5 % of POST/PATCH and drops the answer, and adds 200 ms to 10 % of answers.
 * 2. The same with the tmf worker killed (SIGKILL) and restarted twice along the way.
 * 3. SNOW unreachable for ten minutes while tickets change, then back.
 * Afterwards, every time: exactly one problem per ticket, each in its final state with the last
 * update's fields and the resolution note — nothing duplicated, nothing lost.
 */
import { upsertTicket, type EngineSettings } from '../../src/client/tickets';
import type { Ticket } from '../../src/domain/ticket';
import { eventually, SNOW, startSlmOnlyStack, testConfig, type SlmOnlyStack } from '../support/harness';
import { startTmfProcess, type TmfProcess } from '../support/tmfFleet';

const TMF_QUEUE = 'tmf-chaos';
let stack: SlmOnlyStack;
let dev: SlmOnlyStack['dev'];
let emulator: SlmOnlyStack['emulator'];
let db: SlmOnlyStack['db'];
let client: SlmOnlyStack['client'];
let tmf: TmfProcess | null = null;
const config = testConfig({ TMF_TASK_QUEUE: TMF_QUEUE, SNOW_HTTP_TIMEOUT: '10s' });
const settings: EngineSettings = config;

/** The tmf worker as its own process group, as a fleet runs it; killing the group leaves nothing behind. */
function startTmfWorker(): TmfProcess {
  return startTmfProcess({
    TEMPORAL_ADDRESS: dev.address,
    SNOW_BASE_URL: emulator.url,
    SNOW_USERNAME: SNOW.username,
    SNOW_PASSWORD: SNOW.password,
    TMF_TASK_QUEUE: TMF_QUEUE,
    SNOW_HTTP_TIMEOUT: '10s',
    // The fleet-wide SNOW slots: a killed worker's leases run out before its successor gets them.
    DATABASE_URL: db.url,
    TMF_SLOT_LEASE: '5s',
  });
}

/** Kills the tmf worker's process group; resolves with the signal its leader died of. */
async function killTmfWorker(): Promise<NodeJS.Signals | null> {
  const worker = tmf;
  tmf = null;
  return worker ? worker.kill() : null;
}

/** Tickets per run (CHAOS_TICKETS shrinks the runs for a quick check). */
const TICKETS = Number(process.env.CHAOS_TICKETS ?? 1000);

beforeAll(async () => {
  stack = await startSlmOnlyStack({
    label: 'chaos',
    config,
    definitions: { serviceTargets: [{ id: 'resolution', appliesTo: 'true', stop: 'ticket.state in ["Resolved", "Closed"]', goal: { duration: '4h' } }] },
  });
  ({ dev, emulator, db, client } = stack);
  tmf = startTmfWorker();
}, 120000);

afterAll(async () => {
  await killTmfWorker();
  await stack?.stop();
});

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The snapshots of one ticket's life: created, updated twice, then closed by the seed's condition. */
function lifeOf(id: string): Ticket[] {
  return [
    { id, state: 'New', priority: 3, site: 'LUX', step: 0 },
    { id, state: 'In Progress', priority: 2, site: 'LUX', step: 1 },
    { id, state: 'In Progress', priority: 1, site: 'FRA', step: 2 },
    { id, state: 'In Progress', priority: 1, site: 'FRA', step: 3, restoredBy: 'ses_group' },
  ];
}

async function drive(ids: string[], during?: (phase: number) => Promise<void>): Promise<void> {
  for (let phase = 0; phase < 4; phase++) {
    await pool(ids, 32, (id) => upsertTicket(client, settings, lifeOf(id)[phase]!));
    await during?.(phase);
  }
}

/** Exactly one problem per ticket, resolved with the note, carrying the last update's fields. */
async function expectAllSynced(ids: string[], timeoutMs: number): Promise<void> {
  const problemsOf = () => {
    const byTicket = new Map<string, Record<string, unknown>[]>();
    for (const p of emulator.problems.values()) {
      const id = String(p.correlationId).replace(/^ticket:/, '');
      byTicket.set(id, [...(byTicket.get(id) ?? []), p]);
    }
    return byTicket;
  };
  const done = (p: Record<string, unknown>) => p.status === 'resolved' && typeof p.statusChangeReason === 'string';
  await eventually(
    async () => {
      const byTicket = problemsOf();
      return ids.every((id) => byTicket.get(id)?.some(done)) ? true : undefined;
    },
    timeoutMs,
    `all ${ids.length} problems resolved`,
  );
  const byTicket = problemsOf();
  const wrong: string[] = [];
  for (const id of ids) {
    const ps = byTicket.get(id) ?? [];
    if (ps.length !== 1) wrong.push(`${id}: ${ps.length} problems`);
    const p = ps[0]!;
    const chars = Object.fromEntries((p.characteristic as { name: string; value: unknown }[]).map((c) => [c.name, c.value]));
    if (p.priority !== 1 || chars.site !== 'FRA' || chars.step !== 3 || p.statusChangeReason !== `Restored by ses_group (ticket ${id})`) {
      wrong.push(`${id}: ${JSON.stringify({ priority: p.priority, chars, status: p.status, reason: p.statusChangeReason })}`);
    }
  }
  expect(wrong.slice(0, 10)).toEqual([]);
}

const FAULTS = { errorRate: 0.2, rateLimitRate: 0.05, retryAfterSeconds: 1, dropRate: 0.05, spikeRate: 0.1, spikeMs: 200, seed: 7 };

it(
  'keeps 1,000 tickets exactly in sync through 503s, 429s, dropped answers and latency spikes',
  async () => {
    Object.assign(emulator.faults, FAULTS);
    const ids = Array.from({ length: TICKETS }, (_, i) => `CH1-${i}`);
    await drive(ids);
    await expectAllSynced(ids, 15 * 60_000);
    const injected = emulator.requests.filter((r) => r.status === 503 || r.status === 429 || r.status === 0).length;
    expect(injected).toBeGreaterThan(TICKETS / 2);
  },
  20 * 60_000,
);

it(
  'does the same while the tmf worker is killed (SIGKILL) and restarted twice',
  async () => {
    Object.assign(emulator.faults, FAULTS, { seed: 11 });
    const ids = Array.from({ length: TICKETS }, (_, i) => `CH2-${i}`);
    const kills: { signal: NodeJS.Signals | null; requestsBefore: number; pid: number }[] = [];
    await drive(ids, async (phase) => {
      if (phase === 0 || phase === 2) {
        await new Promise((r) => setTimeout(r, 3000)); // requests in flight
        const pid = tmf!.child.pid!;
        const requestsBefore = emulator.requests.length;
        kills.push({ signal: await killTmfWorker(), requestsBefore, pid });
        await new Promise((r) => setTimeout(r, 2000));
        tmf = startTmfWorker();
      }
    });
    // Both workers died of the kill while they were sending (SNOW had requests from them), and a new
    // process took over each time.
    expect(kills.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    for (const k of kills) {
      expect(k.requestsBefore).toBeGreaterThan(0);
      expect(() => process.kill(k.pid, 0)).toThrow();
    }
    expect(tmf!.child.pid).not.toBe(kills[1]!.pid);
    await expectAllSynced(ids, 15 * 60_000);
  },
  20 * 60_000,
);

it(
  'catches up after SNOW was unreachable for ten minutes',
  async () => {
    Object.assign(emulator.faults, { errorRate: 0, rateLimitRate: 0, dropRate: 0, spikeRate: 0 });
    const ids = Array.from({ length: 200 }, (_, i) => `CH3-${i}`);
    const res = await fetch(`${emulator.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify({ refuseForMs: 600_000 }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const outageEnds = Date.now() + 600_000;
    await drive(ids);
    // Nothing got through while SNOW was away.
    expect([...emulator.problems.values()].filter((p) => String(p.correlationId).startsWith('ticket:CH3-'))).toHaveLength(0);
    await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    await expectAllSynced(ids, 10 * 60_000);
  },
  25 * 60_000,
);
