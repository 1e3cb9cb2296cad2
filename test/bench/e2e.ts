/**
 * `npm run bench -- e2e [--tickets 500] [--rounds 3]`
 *
 * N tickets upserted concurrently through the whole skeleton — workflow started, service problem
 * created in the emulator over HTTP, ticket resolved, problem PATCHed to resolved — and, on the same
 * server and workers in the same run, N trivial workflows. Prints tickets/s, trivial workflows/s and
 * their ratio per round, then the medians.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { upsertTicket } from '../../src/client/tickets';
import { costsText, median, pool, startBenchStack, workflowCosts } from './stack';

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
  try {
    say(`e2e benchmark: ${n} tickets and ${n} trivial workflows per round, ${rounds} rounds`);
    say(
      `server: temporal dev server ${dev.address} (SQLite); PostgreSQL ${stack.postgresPort}; emulator ${emulator.url}; SNOW connections ${config.TMF_MAX_CONCURRENT}; ${os.cpus().length} cores`,
    );
    const ticketRates: number[] = [];
    const trivialRates: number[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const ids = Array.from({ length: n }, (_, i) => `B${round}-${i}`);
      const correlation = new Set(ids.map((id) => `ticket:${id}`));
      const ours = () => [...emulator.problems.values()].filter((p) => correlation.has(p.correlationId as string));

      const statements0 = stack.statements();
      const t0 = Date.now();
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'New', category: 'bench' }));
      await until('problems created', () => ours().length >= n, 600000);
      await pool(ids, 64, (id) => upsertTicket(client, config, { id, priority: 1 + (Number(id.split('-')[1]) % 2), state: 'Resolved', category: 'bench' }));
      await until('problems resolved', () => ours().filter((p) => p.status === 'resolved').length >= n, 600000);
      const ticketSeconds = (Date.now() - t0) / 1000;
      const posts = emulator.requests.filter((r) => r.method === 'POST' && correlation.has((r.body as { correlationId?: string }).correlationId ?? '')).length;
      if (posts !== n) throw new Error(`expected ${n} service problems created, the emulator received ${posts} POSTs`);

      const statements = (stack.statements() - statements0) / n;
      // The cost of one ticket's life (created, problem POSTed, resolved, PATCHed), from 50 of them.
      const costs = await workflowCosts(
        client,
        ids.slice(0, 50).map((id) => `ticket:${id}`),
      );
      say(`round ${round} per ticket: ${costsText(costs)}, ${statements.toFixed(1)} database statements`);

      const t1 = Date.now();
      await pool(ids, 64, (id) => client.workflow.execute('echoWorkflow', { workflowId: `echo:${id}`, taskQueue: config.SLM_TASK_QUEUE, args: [id] }));
      const trivialSeconds = (Date.now() - t1) / 1000;

      ticketRates.push(n / ticketSeconds);
      trivialRates.push(n / trivialSeconds);
      ratios.push(trivialSeconds / ticketSeconds);
      say(
        `round ${round}: tickets ${(n / ticketSeconds).toFixed(1)}/s (${ticketSeconds.toFixed(1)} s, ${posts} POST + ${n} PATCH)  ` +
          `trivial ${(n / trivialSeconds).toFixed(1)}/s (${trivialSeconds.toFixed(1)} s)  ratio ${(n / ticketSeconds / (n / trivialSeconds)).toFixed(3)}`,
      );
    }
    const tk = median(ticketRates);
    const tr = median(trivialRates);
    say(`median: tickets ${tk.toFixed(1)}/s, trivial workflows ${tr.toFixed(1)}/s, ratio tickets/trivial ${median(ratios).toFixed(3)} (median of the rounds' ratios)`);
  } finally {
    await stack.stop();
  }
}
