/**
 * `npm run bench -- e2e [--tickets 500] [--rounds 3]`
 *
 * N tickets upserted concurrently through the whole skeleton — workflow started, service problem
 * created in the emulator over HTTP, ticket resolved, problem PATCHed to resolved — and, on the same
 * server and workers in the same run, two peers: N trivial workflows (start, return), and N runs of
 * `shapeWorkflow` (./shape.ts), a ticket's shape on Temporal with none of its work (two changes, each
 * a remote no-op activity, a search-attribute upsert, a timer between): shape/trivial is the most any
 * design of that shape reaches here, tickets/shape what our own work costs above it. The local shape
 * (the step a local activity, no tmf queue) is the floor of the other topology, for comparison. Prints the rates, the counts from the
 * histories, the CPU each process used per item, and the ratios per round, then the medians.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { upsertTicket } from '../../src/client/tickets';
import { changeShape, shapeWorkflowId, startLocalShapeWorker, startShape, startShapeWorker } from './shape';
import { costsText, cpuSeconds, cpuText, median, pool, startBenchStack, workflowCosts } from './stack';

const say = (msg: string) => process.stdout.write(msg + '\n');

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { tickets: { type: 'string', default: '500' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.tickets);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error('--tickets and --rounds must be whole numbers ≥ 1');

  const stack = await startBenchStack({ log: say });
  const { config, client, emulator, dev } = stack;
  // The shape peers' no-op step: remote on its own queue with the tmf worker's slots, and local on a worker of its own.
  const steps = { first: 0, second: 0 };
  const onStep = (_workflowId: string, change: string) => void (change === 'New' ? steps.first++ : steps.second++);
  const shapeWorker = await startShapeWorker({ address: dev.address, slots: config.TMF_MAX_CONCURRENT, onStep });
  const localShapeWorker = await startLocalShapeWorker({ address: dev.address, bundle: stack.bundle, onStep });
  /** N shape runs through the two changes: started with the first, the second once every first step ran. Seconds taken. */
  const shapeRound = async (ids: string[], local: boolean): Promise<number> => {
    const before = { ...steps };
    const t0 = Date.now();
    await pool(ids, 64, (id) => startShape(client, config.SLM_TASK_QUEUE, id, 'New', local));
    await until('shape first steps', () => steps.first - before.first >= ids.length, 600000);
    await pool(ids, 64, (id) => changeShape(client, id, 'Resolved', local));
    await until('shape second steps', () => steps.second - before.second >= ids.length, 600000);
    return (Date.now() - t0) / 1000;
  };
  try {
    say(`e2e benchmark: ${n} tickets, ${n} shape workflows (remote and local steps) and ${n} trivial workflows per round, ${rounds} rounds`);
    say(
      `server: temporal dev server ${dev.address} (SQLite); PostgreSQL ${stack.postgresPort}; emulator ${emulator.url}; SNOW connections ${config.TMF_MAX_CONCURRENT}; ${os.cpus().length} cores`,
    );
    const rates = { tickets: [] as number[], trivial: [] as number[], shape: [] as number[], local: [] as number[] };
    const ratios = { trivial: [] as number[], shape: [] as number[], shapeTrivial: [] as number[], localTrivial: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      const ids = Array.from({ length: n }, (_, i) => `B${round}-${i}`);
      const correlation = new Set(ids.map((id) => `ticket:${id}`));
      const ours = () => [...emulator.problems.values()].filter((p) => correlation.has(p.correlationId as string));

      const statements0 = stack.statements();
      const cpu0 = cpuSeconds();
      const t0 = Date.now();
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'New', category: 'bench' }));
      await until('problems created', () => ours().length >= n, 600000);
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'Resolved', category: 'bench' }));
      await until('problems resolved', () => ours().filter((p) => p.status === 'resolved').length >= n, 600000);
      const ticketSeconds = (Date.now() - t0) / 1000;
      const cpu1 = cpuSeconds();
      const posts = emulator.requests.filter((r) => r.method === 'POST' && correlation.has((r.body as { correlationId?: string }).correlationId ?? '')).length;
      if (posts !== n) throw new Error(`expected ${n} service problems created, the emulator received ${posts} POSTs`);
      const statements = (stack.statements() - statements0) / n;
      // The cost of one ticket's life (created, problem POSTed, resolved, PATCHed), from 50 of them.
      const sample = ids.slice(0, 50);
      say(
        `round ${round} per ticket: ${costsText(
          await workflowCosts(
            client,
            sample.map((id) => `ticket:${id}`),
          ),
        )}, ${statements.toFixed(1)} database statements`,
      );
      say(`round ${round} ticket ${cpuText(cpu0, cpu1, n)}`);

      const cpu2 = cpuSeconds();
      const shapeSeconds = await shapeRound(ids, false);
      say(`round ${round} shape ${cpuText(cpu2, cpuSeconds(), n)}`);
      say(
        `round ${round} per shape workflow: ${costsText(
          await workflowCosts(
            client,
            sample.map((id) => shapeWorkflowId(id)),
          ),
        )}`,
      );
      const cpu3 = cpuSeconds();
      const localSeconds = await shapeRound(ids, true);
      say(`round ${round} local shape ${cpuText(cpu3, cpuSeconds(), n)}`);
      say(
        `round ${round} per local shape workflow: ${costsText(
          await workflowCosts(
            client,
            sample.map((id) => shapeWorkflowId(id, true)),
          ),
        )}`,
      );

      const cpu4 = cpuSeconds();
      const t1 = Date.now();
      await pool(ids, 64, (id) => client.workflow.execute('echoWorkflow', { workflowId: `echo:${id}`, taskQueue: config.SLM_TASK_QUEUE, args: [id] }));
      const trivialSeconds = (Date.now() - t1) / 1000;
      say(`round ${round} trivial workflow ${cpuText(cpu4, cpuSeconds(), n)}`);

      rates.tickets.push(n / ticketSeconds);
      rates.trivial.push(n / trivialSeconds);
      rates.shape.push(n / shapeSeconds);
      rates.local.push(n / localSeconds);
      ratios.trivial.push(trivialSeconds / ticketSeconds);
      ratios.shape.push(shapeSeconds / ticketSeconds);
      ratios.shapeTrivial.push(trivialSeconds / shapeSeconds);
      ratios.localTrivial.push(trivialSeconds / localSeconds);
      const rate = (secs: number) => `${(n / secs).toFixed(1)}/s (${secs.toFixed(1)} s)`;
      say(
        `round ${round}: tickets ${rate(ticketSeconds)} (${posts} POST + ${n} PATCH)  shape ${rate(shapeSeconds)}  local shape ${rate(localSeconds)}  trivial ${rate(trivialSeconds)}  ` +
          `ratio tickets/trivial ${(trivialSeconds / ticketSeconds).toFixed(3)}, shape/trivial ${(trivialSeconds / shapeSeconds).toFixed(3)}, ` +
          `local shape/trivial ${(trivialSeconds / localSeconds).toFixed(3)}, tickets/shape ${(shapeSeconds / ticketSeconds).toFixed(3)}`,
      );
    }
    say(
      `median: tickets ${median(rates.tickets).toFixed(1)}/s, shape ${median(rates.shape).toFixed(1)}/s, local shape ${median(rates.local).toFixed(1)}/s, trivial workflows ${median(rates.trivial).toFixed(1)}/s; ` +
        `ratio tickets/trivial ${median(ratios.trivial).toFixed(3)}; shape/trivial ${median(ratios.shapeTrivial).toFixed(3)} (the most a ticket of this topology reaches here); ` +
        `local shape/trivial ${median(ratios.localTrivial).toFixed(3)} (SNOW called from the slm worker instead); tickets/shape ${median(ratios.shape).toFixed(3)} (medians of the rounds' ratios)`,
    );
  } finally {
    await shapeWorker.stop();
    await localShapeWorker.stop();
    await stack.stop();
  }
}
