/**
 * `npm run bench -- timers [--tickets 5000] [--spread 600] [--burst 5000]`
 *
 * N open tickets on the dev server, each with its due instant (goal taken from a ticket field) and a
 * milestone 30 s before it, the due instants spread evenly over `--spread` seconds. Prints how late
 * the firings were against the wall clock: for due instants, when the MissedGoal status was written
 * to PostgreSQL; for milestones, when their webhook reached a receiver on loopback. Goal: p99 under
 * 1 s (the incumbents poll every minute or more). Then prints what one ticket's life here costs
 * (creation, its milestone and its due firing), and the capacity: `--burst` more tickets all due at
 * the same instant, fired at how many per second, beside the same number of bare workflows (a timer,
 * then done) due at one instant on the same server and worker: the bound a ticket's firing can reach.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { upsertTicket } from '../../src/client/tickets';
import { measurements } from '../../src/db/schema';
import { startWebhookReceiver } from '../support/catchers';
import { and, eq, isNotNull, like } from 'drizzle-orm';
import { costsText, firingPhases, median, percentile, pool, startBenchStack, workflowCosts } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { tickets: { type: 'string', default: '5000' }, spread: { type: 'string', default: '600' }, burst: { type: 'string', default: '5000' } },
  });
  const n = Number(values.tickets);
  const spread = Number(values.spread);
  const burst = Number(values.burst);
  if (!Number.isInteger(n) || n < 1 || !(spread > 0) || !Number.isInteger(burst) || burst < 0) {
    throw new Error('--tickets must be a whole number ≥ 1, --spread a positive number of seconds, --burst a whole number');
  }

  const receiver = await startWebhookReceiver();
  const arrivals: { at: number; dueAt: number }[] = [];
  const stack = await startBenchStack({
    log: say,
    definitions: {
      serviceTargets: [
        {
          id: 'timer',
          appliesTo: 'ticket.bench == "timers"',
          stop: 'ticket.state == "Closed"',
          goal: { fromField: 'dueAt' },
          milestones: [{ name: 'pre-30s', at: { beforeDue: '30s' }, actions: [{ notify: { webhook: `${receiver.url}/hook` } }] }],
        },
        { id: 'burst', appliesTo: 'ticket.bench == "burst"', stop: 'ticket.state == "Closed"', goal: { fromField: 'dueAt' } },
      ],
    },
  });
  // Arrival times are taken as each webhook lands.
  const seen = receiver.hooks.length;
  const watch = setInterval(() => {
    for (const h of receiver.hooks.splice(seen)) arrivals.push({ at: Date.now(), dueAt: Date.parse((h.body as { dueAt: string }).dueAt) });
  }, 5);
  try {
    const { client, config, db, dev } = stack;
    say(`timers benchmark: ${n} open tickets, due instants spread over ${spread} s, a milestone 30 s before each; ${os.cpus().length} cores, dev server ${dev.address}`);
    // Created in the order of their due instants; the first is due once creation is well ahead.
    const firstDue = Date.now() + 180_000;
    const dueOf = (i: number) => firstDue + Math.floor((i * spread * 1000) / n);
    const t0 = Date.now();
    // A state outside SNOW's active states: no service problems, only the engine's timers.
    await pool(
      Array.from({ length: n }, (_, i) => i),
      32,
      (i) => upsertTicket(client, config, { id: `TM-${i}`, bench: 'timers', state: 'Queued', dueAt: new Date(dueOf(i)).toISOString() }),
    );
    const created = (Date.now() - t0) / 1000;
    say(`created ${n} tickets in ${created.toFixed(1)} s (${(n / created).toFixed(1)}/s); first due in ${((firstDue - Date.now()) / 1000).toFixed(0)} s`);
    if (Date.now() > firstDue - 30_000) say('warning: creation ran into the first milestones; their lateness includes creation time');

    const lastDue = dueOf(n - 1);
    while (Date.now() < lastDue + 10_000) await new Promise((r) => setTimeout(r, 1000));
    const rows = await db.select({ missedGoalAt: measurements.missedGoalAt, updatedAt: measurements.updatedAt }).from(measurements).where(isNotNull(measurements.missedGoalAt));
    clearInterval(watch);
    for (const h of receiver.hooks.splice(seen)) arrivals.push({ at: Date.now(), dueAt: Date.parse((h.body as { dueAt: string }).dueAt) });

    const dueLateness = rows.map((r) => r.updatedAt.getTime() - r.missedGoalAt!.getTime());
    const msLateness = arrivals.map((a) => a.at - a.dueAt);
    say(
      `due instants fired: ${rows.length}/${n}; lateness (MissedGoal written − due instant): p50 ${fmt(percentile(dueLateness, 50))}, p99 ${fmt(percentile(dueLateness, 99))}, max ${fmt(Math.max(...dueLateness))}`,
    );
    say(
      `milestones fired: ${arrivals.length}/${n}; lateness (webhook received − milestone instant): p50 ${fmt(percentile(msLateness, 50))}, p99 ${fmt(percentile(msLateness, 99))}, max ${fmt(Math.max(...msLateness))}`,
    );
    const p99 = Math.max(percentile(dueLateness, 99), percentile(msLateness, 99));
    say(
      `goal p99 < 1000 ms: ${p99 < 1000 ? 'met' : 'NOT met'} (worst p99 ${fmt(p99)}; median of both p50s ${fmt(median([percentile(dueLateness, 50), percentile(msLateness, 50)]))})`,
    );
    const costs = await workflowCosts(
      client,
      Array.from({ length: Math.min(50, n) }, (_, i) => `ticket:TM-${i}`),
    );
    say(`per ticket (created, its milestone fired, its due instant fired): ${costsText(costs)}`);

    if (burst > 0) {
      // Capacity: every ticket due at the same instant, fired as fast as the stack can. The instant
      // leaves time for every creation to be processed first (upserts are accepted faster than the
      // worker runs them), so the figure is the firings' alone; the run checks that it did.
      const dueAt = Date.now() + Math.max(90_000, burst * 40);
      const b0 = Date.now();
      await pool(
        Array.from({ length: burst }, (_, i) => i),
        32,
        (i) => upsertTicket(client, config, { id: `BU-${i}`, bench: 'burst', state: 'Queued', dueAt: new Date(dueAt).toISOString() }),
      );
      say(`burst: ${burst} tickets created in ${((Date.now() - b0) / 1000).toFixed(1)} s, all due at ${new Date(dueAt).toISOString()}`);
      // Counted in the database: the poll runs every second while 5,000 creations are processed.
      const saved = async () => db.$count(measurements, and(eq(measurements.serviceTargetId, 'burst'), like(measurements.subjectId, 'BU-%')));
      while (Date.now() < dueAt - 1000 && (await saved()) < burst) await new Promise((r) => setTimeout(r, 1000));
      const ready = await saved();
      say(
        ready >= burst
          ? `burst: all ${burst} processed ${((dueAt - Date.now()) / 1000).toFixed(0)} s before the instant`
          : `warning: only ${ready}/${burst} burst tickets processed by the instant; the capacity below includes creations`,
      );
      const fired = async () => {
        const r = await db
          .select({ updatedAt: measurements.updatedAt })
          .from(measurements)
          .where(and(eq(measurements.serviceTargetId, 'burst'), like(measurements.subjectId, 'BU-%'), isNotNull(measurements.missedGoalAt)));
        return r.map((x) => x.updatedAt.getTime());
      };
      const deadline = dueAt + 600_000;
      let times: number[] = [];
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        if (Date.now() < dueAt) continue;
        times = await fired();
        if (times.length >= burst) break;
      }
      const last = Math.max(...times);
      const seconds = (last - dueAt) / 1000;
      say(`burst: ${times.length}/${burst} fired; the last ${fmt(last - dueAt)} after the instant: capacity ${(times.length / seconds).toFixed(1)} firings/s`);
      const sample = Array.from({ length: Math.min(200, burst) }, (_, k) => `ticket:BU-${Math.floor((k * burst) / Math.min(200, burst))}`);
      say(`burst, where a firing's time goes: ${await firingPhases(client, sample, dueAt)}`);
      const ticketCapacity = times.length / seconds;

      // The bound, in the same run: as many bare workflows (one timer, then done) due at one instant.
      const peerAt = Date.now() + Math.max(60_000, burst * 15);
      await pool(
        Array.from({ length: burst }, (_, i) => i),
        32,
        (i) => client.workflow.start('echoAtWorkflow', { workflowId: `echo-at:${i}`, taskQueue: config.SLM_TASK_QUEUE, args: [String(i), peerAt] }),
      );
      const query = `WorkflowType = 'echoAtWorkflow' AND ExecutionStatus = 'Completed'`;
      while (Date.now() < peerAt + 600_000) {
        await new Promise((r) => setTimeout(r, 2000));
        if (Date.now() > peerAt && (await client.workflow.count(query)).count >= burst) break;
      }
      let peerLast = 0;
      let peerDone = 0;
      for await (const w of client.workflow.list({ query })) {
        peerDone++;
        peerLast = Math.max(peerLast, w.closeTime?.getTime() ?? 0);
      }
      const peerCapacity = peerDone / ((peerLast - peerAt) / 1000);
      say(
        `burst peer: ${peerDone}/${burst} bare timer workflows fired and completed, the last ${fmt(peerLast - peerAt)} after the instant: ${peerCapacity.toFixed(1)}/s; ` +
          `tickets' capacity / peer's ${(ticketCapacity / peerCapacity).toFixed(3)}`,
      );
    }
  } finally {
    clearInterval(watch);
    await stack.stop();
    await receiver.close();
  }
}
