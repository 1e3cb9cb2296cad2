/**
 * `npm run bench -- fleet [--tickets 500] [--latency 50] [--rounds 3] [--workers 3]`
 *
 * The fleet-wide SNOW cap (TMF_CONCURRENCY_SCOPE=fleet): N problem creations queued while no tmf
 * worker runs, then drained by one tmf worker process, and again (new tickets) by `--workers`
 * processes sharing the five slots through PostgreSQL. The slm worker is paused while a queue drains,
 * so the figure is the tmf side's. Prints creates/s first to last POST for each, their ratio (goal:
 * the fleet within 10 % of one worker, since five connections are five connections), and the most
 * requests SNOW saw at once (goal: exactly 5).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { and, count, isNotNull, like } from 'drizzle-orm';
import { upsertTicket } from '../../src/client/tickets';
import { tickets } from '../../src/db/schema';
import type { TmfProcess } from '../support/tmfFleet';
import { median, pool, startBenchStack, startStackTmfProcess } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tickets: { type: 'string', default: '500' },
      latency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      workers: { type: 'string', default: '3' },
    },
  });
  const n = Number(values.tickets);
  const latencyMs = Number(values.latency);
  const rounds = Number(values.rounds);
  const fleetSize = Number(values.workers);
  const stack = await startBenchStack({ faults: { latencyMs }, log: say });
  const { config, client, emulator } = stack;
  await stack.pauseTmf(); // only the worker processes serve the tmf queue here
  const running: TmfProcess[] = [];
  try {
    const bound = config.TMF_MAX_CONCURRENT / (latencyMs / 1000);
    say(
      `fleet benchmark: ${config.TMF_MAX_CONCURRENT} SNOW slots shared through PostgreSQL, emulator latency ${latencyMs} ms → bound ${bound.toFixed(0)} creates/s; ${n} tickets per drain, ${rounds} rounds; ${os.cpus().length} cores`,
    );
    const posts = (prefix: string) =>
      emulator.requests
        .filter((r) => r.method === 'POST' && r.status === 201 && String((r.body as { correlationId?: unknown } | null)?.correlationId).startsWith(`ticket:${prefix}`))
        .map((r) => Date.parse(r.at));

    const drain = async (prefix: string, workers: number): Promise<{ rate: number; seconds: number; peak: number }> => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
      await pool(ids, 32, (id) => upsertTicket(client, config, { id, priority: 2, state: 'New' }));
      await pool(ids, 32, async (id) => {
        const handle = client.workflow.getHandle(`ticket:${id}`);
        while (!(await handle.describe()).raw.pendingActivities?.length) await new Promise((r) => setTimeout(r, 100));
      });
      await stack.pauseSlm();
      emulator.concurrency.peak = 0;
      for (let i = 0; i < workers; i++) {
        running.push(startStackTmfProcess(stack));
      }
      while (posts(prefix).length < n) await new Promise((r) => setTimeout(r, 50));
      const peak = emulator.concurrency.peak;
      await Promise.all(running.splice(0).map((w) => w.stop()));
      await stack.resumeSlm();
      const recorded = async () =>
        (
          await stack.db
            .select({ n: count() })
            .from(tickets)
            .where(and(like(tickets.ticketId, `${prefix}%`), isNotNull(tickets.problemId)))
        )[0]!.n;
      while ((await recorded()) < n) await new Promise((r) => setTimeout(r, 100));
      const times = posts(prefix).sort((a, b) => a - b);
      const seconds = (times[n - 1]! - times[0]!) / 1000;
      return { rate: (n - 1) / seconds, seconds, peak };
    };

    const one: number[] = [];
    const many: number[] = [];
    const peaks: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const a = await drain(`F1R${round}-`, 1);
      const b = await drain(`F${fleetSize}R${round}-`, fleetSize);
      one.push(a.rate);
      many.push(b.rate);
      peaks.push(a.peak, b.peak);
      say(
        `round ${round}: 1 tmf worker ${a.rate.toFixed(1)} creates/s (${a.seconds.toFixed(2)} s, most at once ${a.peak}); ` +
          `${fleetSize} tmf workers ${b.rate.toFixed(1)} creates/s (${b.seconds.toFixed(2)} s, most at once ${b.peak}); ratio ${(b.rate / a.rate).toFixed(2)}`,
      );
    }
    const ratios = one.map((a, i) => many[i]! / a);
    say(
      `median: 1 worker ${median(one).toFixed(1)} creates/s, ${fleetSize} workers ${median(many).toFixed(1)} creates/s; ratio ${median(ratios).toFixed(2)} (goal: within 10 %, ≥ 0.90)`,
    );
    say(`most requests at once in SNOW over every drain: ${Math.max(...peaks)} (fleet cap ${config.TMF_MAX_CONCURRENT})`);
  } finally {
    await Promise.all(running.map((w) => w.kill()));
    await stack.stop();
  }
}
