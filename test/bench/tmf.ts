/**
 * `npm run bench -- tmf [--tickets 500] [--latency 50] [--rate 20] [--rounds 3]`
 *
 * 1. Throughput of the `tmf` worker: N tickets upserted while the tmf worker is stopped, so each
 *    ticket's workflow has scheduled its problem creation and the N creations wait in the task
 *    queue; then the worker starts and drains them against the emulator, which answers after
 *    `--latency` ms. Prints creates/s (first to last POST), the bound of the connections
 *    (5 / 0.050 s = 100/s) and the ratio: with the slm worker stopped during the drain (the tmf
 *    worker alone, as on a host of its own) and with it running beside on the same cores. Each
 *    drain starts on a quiet machine, once the previous one's workflows have recorded their problems
 *    and compliance has counted every saved measurement. The shape peer (./shape.ts) drains the same
 *    two ways: its ratio beside is the floor of any design whose SNOW calls are remote activities.
 * 2. End to end, for comparison: N tickets upserted at once with both workers running; creates/s here
 *    is bounded by the whole pipeline (server, workflow tasks, database) on this machine.
 * 3. Latency: tickets upserted at `--rate` per second; prints p50 and p99 of the time from upsert
 *    to problem created in SNOW (the seed's connector polls every 60 s).
 *
 * `--tmf process` runs the tmf worker as a fleet runs it, in a process of its own
 * (`src/workers/tmf.ts`, slots leased in PostgreSQL), on the same cores; the slm worker, the emulator
 * and the client stay in the benchmark's process. The default runs both workers in one process, as
 * `npm start` does.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { and, count, isNotNull, like } from 'drizzle-orm';
import { upsertTicket } from '../../src/client/tickets';
import { complianceChanges, tickets } from '../../src/db/schema';
import type { TmfProcess } from '../support/tmfFleet';
import { shapeWorkflowId, startShape, startShapeWorker } from './shape';
import { median, percentile, pool, startBenchStack, startStackTmfProcess } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tickets: { type: 'string', default: '500' },
      latency: { type: 'string', default: '50' },
      rate: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '3' },
      tmf: { type: 'string', default: 'embedded' },
    },
  });
  if (values.tmf !== 'embedded' && values.tmf !== 'process') throw new Error(`--tmf must be embedded or process, not ${values.tmf}`);
  const tmfInProcess = values.tmf === 'process';
  const n = Number(values.tickets);
  const latencyMs = Number(values.latency);
  const rate = Number(values.rate);
  const rounds = Number(values.rounds);

  const stack = await startBenchStack({ faults: { latencyMs }, log: say });
  const { config, client, emulator } = stack;
  /** The tmf worker's own process (`--tmf process`), while one runs. */
  const own: { tmf: TmfProcess | null } = { tmf: null };
  const pauseTmf = async () => {
    if (!tmfInProcess) return stack.pauseTmf();
    await own.tmf?.stop();
    own.tmf = null;
  };
  const resumeTmf = async () => {
    if (!tmfInProcess) return stack.resumeTmf();
    own.tmf ??= startStackTmfProcess(stack);
  };
  if (tmfInProcess) {
    await stack.pauseTmf(); // only the worker process serves the tmf queue
    await resumeTmf();
  }
  try {
    const bound = config.TMF_MAX_CONCURRENT / (latencyMs / 1000);
    // Creation instants by ticket id, in one map per id prefix (`TA1-`, `TE-`, …), read from the
    // emulator's request log as it grows: the benchmark shares the process with the workers, so it
    // neither rescans the log nor filters every creation while it waits.
    const creations = new Map<string, Map<string, number>>();
    let seen = 0;
    const created = (prefix: string): Map<string, number> => {
      for (; seen < emulator.requests.length; seen++) {
        const r = emulator.requests[seen]!;
        const correlationId = (r.body as { correlationId?: unknown } | null)?.correlationId;
        if (r.method !== 'POST' || r.status !== 201 || typeof correlationId !== 'string') continue;
        const id = correlationId.slice('ticket:'.length);
        const own = id.slice(0, id.indexOf('-') + 1);
        if (!creations.has(own)) creations.set(own, new Map());
        creations.get(own)!.set(id, Date.parse(r.at));
      }
      return creations.get(prefix) ?? new Map<string, number>();
    };

    say(
      `tmf benchmark: ${config.TMF_MAX_CONCURRENT} connections to SNOW, emulator latency ${latencyMs} ms → bound ${bound.toFixed(0)} creates/s; ${n} tickets per round, ${rounds} rounds; ${os.cpus().length} cores; ` +
        (tmfInProcess ? 'the tmf worker in a process of its own (as a fleet runs it)' : 'both workers in one process (as npm start runs them)'),
    );
    /**
     * The compliance run has counted every measurement saved so far (its change feed is empty): the
     * tickets' first saves (release 5 saves a ticket before its SNOW call) are counted before a drain
     * starts, so a drain measures the creations and their follow-up, not that backlog.
     */
    const complianceCounted = async () => {
      while ((await stack.db.select({ n: count() }).from(complianceChanges))[0]!.n > 0) await new Promise((r) => setTimeout(r, 100));
    };
    /**
     * One drain: N tickets upserted with the tmf worker stopped, each workflow waiting on its
     * scheduled creation, then the worker started. With `alone`, the slm worker stops too while the
     * queue drains, so the tmf worker has the cores to itself (in a fleet the two run on separate
     * hosts); otherwise each creation's follow-up workflow task runs beside it on the same cores.
     */
    const drain = async (prefix: string, alone: boolean): Promise<{ rate: number; seconds: number }> => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
      await pauseTmf();
      await pool(ids, 32, (id) => upsertTicket(client, config, { id, priority: 2, state: 'New' }));
      // Every workflow has reached its creation: the activity is scheduled and waits for a slot.
      await pool(ids, 32, async (id) => {
        const handle = client.workflow.getHandle(`ticket:${id}`);
        while (!(await handle.describe()).raw.pendingActivities?.length) await new Promise((r) => setTimeout(r, 100));
      });
      await complianceCounted();
      if (alone) await stack.pauseSlm();
      await resumeTmf();
      while (created(prefix).size < n) await new Promise((r) => setTimeout(r, 20));
      if (alone) await stack.resumeSlm();
      // The next drain starts on a quiet machine: every workflow has recorded its problem.
      const recorded = async () =>
        (
          await stack.db
            .select({ n: count() })
            .from(tickets)
            .where(and(like(tickets.ticketId, `${prefix}%`), isNotNull(tickets.problemId)))
        )[0]!.n;
      while ((await recorded()) < n) await new Promise((r) => setTimeout(r, 100));
      const times = [...created(prefix).values()].sort((a, b) => a - b);
      const seconds = (times[n - 1]! - times[0]!) / 1000;
      return { rate: (n - 1) / seconds, seconds };
    };
    /**
     * The same drain through the shape peer (./shape.ts): N shape runs each waiting on its no-op
     * activity (`latency` ms, five slots), then the activity worker started; beside, the slm worker
     * runs each step's follow-up task (a search-attribute upsert and a timer) on the same cores. Its
     * beside ratio is the floor of any design whose SNOW calls are remote activities.
     */
    const shapeDrain = async (prefix: string, alone: boolean): Promise<{ rate: number; seconds: number }> => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
      const times: number[] = [];
      await pool(ids, 32, (id) => startShape(client, config.SLM_TASK_QUEUE, id, prefix));
      await pool(ids, 32, async (id) => {
        const handle = client.workflow.getHandle(shapeWorkflowId(id));
        while (!(await handle.describe()).raw.pendingActivities?.length) await new Promise((r) => setTimeout(r, 100));
      });
      await complianceCounted();
      if (alone) await stack.pauseSlm();
      const worker = await startShapeWorker({
        address: stack.dev.address,
        slots: config.TMF_MAX_CONCURRENT,
        latencyMs,
        onStep: (_workflowId, change) => void (change === prefix && times.push(Date.now())),
      });
      while (times.length < n) await new Promise((r) => setTimeout(r, 20));
      if (alone) await stack.resumeSlm();
      // The next drain starts on a quiet machine: every run has recorded its step (its search attribute).
      const query = `WorkflowType = 'shapeWorkflow' AND SlmTicketState = '${prefix}'`;
      while ((await client.workflow.count(query)).count < n) await new Promise((r) => setTimeout(r, 100));
      await worker.stop();
      const seconds = (times[n - 1]! - times[0]!) / 1000;
      return { rate: (n - 1) / seconds, seconds };
    };
    const alone: number[] = [];
    const beside: number[] = [];
    const shapeAlone: number[] = [];
    const shapeBeside: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const a = await drain(`TA${round}-`, true);
      alone.push(a.rate);
      const b = await drain(`TB${round}-`, false);
      beside.push(b.rate);
      const c = await shapeDrain(`SA${round}-`, true);
      shapeAlone.push(c.rate);
      const d = await shapeDrain(`SB${round}-`, false);
      shapeBeside.push(d.rate);
      say(
        `round ${round}: ${n} queued creations drained at ${a.rate.toFixed(1)} creates/s by the tmf worker alone (${a.seconds.toFixed(2)} s first to last POST, ratio ${(a.rate / bound).toFixed(2)}); ` +
          `${b.rate.toFixed(1)} creates/s beside the slm worker (${b.seconds.toFixed(2)} s, ratio ${(b.rate / bound).toFixed(2)}); ` +
          `shape peer: ${c.rate.toFixed(1)}/s alone (ratio ${(c.rate / bound).toFixed(2)}), ${d.rate.toFixed(1)}/s beside (ratio ${(d.rate / bound).toFixed(2)})`,
      );
    }
    say(`median, tmf worker alone: ${median(alone).toFixed(1)} creates/s; bound ${bound.toFixed(0)}/s; ratio ${(median(alone) / bound).toFixed(2)} (goal ≥ 0.9)`);
    say(`median, beside the slm worker on the same ${os.cpus().length} cores: ${median(beside).toFixed(1)} creates/s; ratio ${(median(beside) / bound).toFixed(2)} (goal ≥ 0.8)`);
    say(
      `median, shape peer (no-op steps, same slots and latency): alone ${median(shapeAlone).toFixed(1)}/s, ratio ${(median(shapeAlone) / bound).toFixed(2)}; ` +
        `beside the slm worker ${median(shapeBeside).toFixed(1)}/s, ratio ${(median(shapeBeside) / bound).toFixed(2)} (the most a design of that shape reaches beside); ` +
        `tickets/shape beside ${(median(beside) / median(shapeBeside)).toFixed(2)}`,
    );
    say(`most requests at once in SNOW: ${emulator.concurrency.peak} (connections: ${config.TMF_MAX_CONCURRENT})`);

    let capacity: number;
    {
      const prefix = 'TE-';
      const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
      const t0 = Date.now();
      await Promise.all(ids.map((id) => upsertTicket(client, config, { id, priority: 2, state: 'New' })));
      while (created(prefix).size < n) await new Promise((r) => setTimeout(r, 20));
      const seconds = (Date.now() - t0) / 1000;
      capacity = n / seconds;
      say(
        `end to end: ${n} tickets upserted at once → ${capacity.toFixed(1)} creates/s (${seconds.toFixed(1)} s; bounded by the whole pipeline on ${os.cpus().length} cores, not by the slots)`,
      );
    }

    // The latency at the offered rate asked for, and at half the capacity just measured (where the
    // pipeline is not saturated: what one ticket's path costs, not a queue's length).
    const half = Math.max(1, Math.round(capacity / 2));
    for (const [tag, label, perSecond] of [
      ['TLR-', `${rate} tickets/s`, rate],
      ['TLH-', `half the capacity, ${half} tickets/s`, half],
    ] as const) {
      const prefix = tag;
      const latencyTickets = Math.max(1, Math.round(perSecond * 15));
      const sentAt = new Map<string, number>();
      for (let i = 0; i < latencyTickets; i++) {
        const id = `${prefix}${i}`;
        sentAt.set(id, Date.now());
        void upsertTicket(client, config, { id, priority: 2, state: 'New' });
        await new Promise((r) => setTimeout(r, 1000 / perSecond));
      }
      while (created(prefix).size < latencyTickets) await new Promise((r) => setTimeout(r, 20));
      const createdTl = created(prefix);
      const lat = [...sentAt].map(([id, t]) => createdTl.get(id)! - t);
      say(
        `upsert → problem created at ${label} (${latencyTickets} tickets): p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (goal p99 < 1000 ms at half the capacity; the seed's connector: a 60 s cycle)`,
      );
      await new Promise((r) => setTimeout(r, 3000)); // the next run starts on a quiet pipeline
    }
  } finally {
    await own.tmf?.kill();
    await stack.stop();
  }
}
