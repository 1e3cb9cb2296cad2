/**
 * What a new user and a hostile tester send, through the real stack (dev server, PostgreSQL, the
 * emulator, both workers, the `slm` CLI as a process): expensive conditions, huge and deep tickets,
 * free-form priorities from real ticketing systems, partial updates, refused changes, a bare
 * namespace, a dead stack, and output through a pipe.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Client, Connection } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { Client as PgClient } from 'pg';
import { queryTicket, upsertTicket, upsertTicketChecked } from '../../src/client/tickets';
import { measurements, tickets } from '../../src/db/schema';
import { ticketWorkflowId } from '../../src/domain/ticket';
import { startDevServer, type DevServer } from '../../src/infra/devServer';
import { freePort } from '../../src/infra/process';
import { upsertTicketSignal } from '../../src/workflows/messages';
import { env, eventually, ROOT, runCli, startDevStack, startWorkers, testConfig, type DevStack } from '../support/harness';

const base = { stop: 'ticket.state in ["Resolved", "Closed"]', goal: { duration: '4h' } };
const DEFINITIONS = {
  serviceTargets: [
    { id: 'P2-normal', appliesTo: 'has(ticket.priority) && ticket.priority == "2 normal"', ...base },
    { id: 'P1-low', appliesTo: 'has(ticket.priority) && ticket.priority == "1 low"', ...base },
    { id: 'any-open', appliesTo: 'has(ticket.kind) && ticket.kind == "incident"', ...base },
    {
      id: 'late',
      appliesTo: 'has(ticket.kind) && ticket.kind == "late"',
      stop: 'ticket.state == "Closed"',
      goal: { duration: '4s' },
      milestones: [{ name: 'quarter', at: { percentOfGoal: 25 } }],
    },
    // Cheap for a short list, far over the step budget for a long one.
    { id: 'cubic', appliesTo: 'has(ticket.l) && ticket.l.all(a, ticket.l.all(b, ticket.l.all(c, a + b + c >= 0.0)))', ...base },
  ],
};

let stack: DevStack;
let client: Client;
let cliEnv: Record<string, string>;
const config = testConfig();
const dir = () => env('SLM_TEST_DIR');
const problemOf = (ticketId: string) => [...stack.emulator.problems.values()].find((p) => p.correlationId === `ticket:${ticketId}`);

beforeAll(async () => {
  stack = await startDevStack({ label: 'inputs', definitions: DEFINITIONS, config });
  ({ client, cliEnv } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

async function workflowExists(id: string): Promise<boolean> {
  return client.workflow
    .getHandle(id)
    .describe()
    .then(
      () => true,
      () => false,
    );
}

describe('expensive conditions', () => {
  it('refuses at apply time a condition whose nested list macros cannot be bounded, naming the field', async () => {
    let body = 'a0 + a1 + a2 + a3 + a4 + a5 + a6 > 0';
    for (let i = 6; i >= 0; i--) body = `[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(a${i}, ${body})`;
    const file = path.join(dir(), 'expensive.json');
    fs.writeFileSync(file, JSON.stringify({ serviceTargets: [{ id: 'X', appliesTo: body, ...base }] }));
    const r = await runCli(['definitions', 'apply', file], { env: cliEnv });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^slm: invalid definitions at serviceTargets\[0\]\.appliesTo: invalid CEL .*too expensive: list macros nested 7 deep/);
  });

  it("makes the measurement Invalid with the reason when a ticket's data makes a condition exceed its budget; the worker goes on", async () => {
    const long = Array.from({ length: 400 }, (_, i) => i);
    const res = await upsertTicketChecked(client, config, { id: 'COST-1', kind: 'incident', state: 'New', l: long });
    const cubic = res.measurements.find((m) => m.serviceTargetId === 'cubic')!;
    expect(cubic).toMatchObject({ status: 'Invalid' });
    expect(cubic.reason).toMatch(/stopped after 50,000 evaluation steps/);
    // The other targets of the same ticket, and the next ticket, are measured as usual.
    expect(res.measurements.find((m) => m.serviceTargetId === 'any-open')).toMatchObject({ status: 'InProcess' });
    const next = await upsertTicketChecked(client, config, { id: 'COST-2', kind: 'incident', state: 'New', l: [1, 2, 3] });
    expect(next.measurements.find((m) => m.serviceTargetId === 'cubic')).toMatchObject({ status: 'InProcess' });
  });
});

describe('tickets too large or too deep', () => {
  it('refuses a 3 MB ticket at once with one line naming the limit, and leaves no workflow behind', async () => {
    const file = path.join(dir(), 'big3.json');
    fs.writeFileSync(file, JSON.stringify({ id: 'BIG3', state: 'New', blob: 'x'.repeat(3 * 1024 * 1024) }));
    const started = Date.now();
    const r = await runCli(['ticket', 'upsert', '--file', file], { env: cliEnv });
    expect(Date.now() - started).toBeLessThan(10000);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('slm: invalid ticket: the ticket is larger than 256 KiB of JSON (the limit per ticket)\n');
    expect(await workflowExists('ticket:BIG3')).toBe(false);
  });

  it('refuses a ticket nested 2,000 levels deep with one clear line', async () => {
    const text = '{"id": "DEEP", "d": ' + '{"a": '.repeat(2000) + '1' + '}'.repeat(2000) + '}';
    const r = await runCli(['ticket', 'upsert', '--file', '-'], { env: cliEnv, stdin: text });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/^slm: invalid ticket: d(\.a)+: nested more than 32 levels deep$/);
    expect(await workflowExists('ticket:DEEP')).toBe(false);
  });

  it('ends a run whose only change was refused instead of leaving an empty workflow', async () => {
    const handle = await client.workflow.start('ticketWorkflow', { workflowId: 'ticket:EMPTY-1', taskQueue: config.SLM_TASK_QUEUE, args: [{ ticketId: 'EMPTY-1' }] });
    await handle.signal(upsertTicketSignal, { id: 'SOMEONE-ELSE' });
    const view = await eventually(
      async () => {
        const v = await queryTicket(client, 'EMPTY-1');
        return v?.rejectedChanges.length ? v : undefined;
      },
      20000,
      'the refusal',
    );
    expect(view.ticket).toBeNull();
    expect(JSON.stringify(view.rejectedChanges)).toMatch(/does not belong to workflow ticket:EMPTY-1/);
    // The run's timer is a minute; the server's clock is real here, so only its presence is checked.
    const history = await handle.fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
    expect(timers.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds))).toContain(60);
  });
});

describe('free-form priorities (Zammad, ServiceNow, Jira)', () => {
  it('measures string priorities, detaches a target when the priority changes, and maps them to SNOW', async () => {
    const up = await runCli(['ticket', 'upsert', '--id', 'ZAM-1', '--priority', '2 normal', '--state', 'New'], { env: cliEnv });
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/P2-normal InProcess/);
    await eventually(async () => (problemOf('ZAM-1')?.priority === 2 ? true : undefined), 20000, 'problem with priority 2');

    const changed = await runCli(['ticket', 'update', '--id', 'ZAM-1', '--priority', '1 low'], { env: cliEnv });
    expect(changed.code).toBe(0);
    const view = (await queryTicket(client, 'ZAM-1'))!;
    expect(view.ticket).toEqual({ id: 'ZAM-1', priority: '1 low', state: 'New' });
    expect(view.measurements.find((m) => m.serviceTargetId === 'P2-normal')).toMatchObject({ status: 'Detached' });
    expect(view.measurements.find((m) => m.serviceTargetId === 'P1-low')).toMatchObject({ status: 'InProcess' });
    await eventually(async () => (problemOf('ZAM-1')?.priority === 1 ? true : undefined), 20000, 'problem PATCHed to priority 1');

    const [row] = await stack.db.db.select().from(tickets).where(eq(tickets.ticketId, 'ZAM-1'));
    expect(row).toMatchObject({ priority: 1, ticket: { priority: '1 low' } });
  });

  it('accepts "1 - Critical" and "1", and puts an unmappable "High" on the problem, not on the ticket', async () => {
    expect((await runCli(['ticket', 'upsert', '--id', 'SN-1', '--priority', '"1 - Critical"', '--state', 'New'], { env: cliEnv })).code).toBe(0);
    await eventually(async () => (problemOf('SN-1')?.priority === 1 ? true : undefined), 20000, 'SN-1 problem');
    expect((await runCli(['ticket', 'upsert', '--file', '-'], { env: cliEnv, stdin: '{"id": "NUM-1", "priority": "1", "state": "New"}' })).code).toBe(0);
    await eventually(async () => (problemOf('NUM-1')?.priority === 1 ? true : undefined), 20000, 'NUM-1 problem');

    const jira = await runCli(['ticket', 'upsert', '--id', 'JIRA-1', '--priority', 'High', '--state', 'New', '--field', 'kind=incident'], { env: cliEnv });
    expect(jira.code).toBe(0);
    expect(jira.stdout).toMatch(/any-open InProcess/);
    const list = await eventually(
      async () => {
        const r = JSON.parse((await runCli(['tickets', 'list', '--filter', 'JIRA-1', '--json'], { env: cliEnv })).stdout) as { tickets: { lastError: string | null }[] };
        return r.tickets[0]?.lastError ? r : undefined;
      },
      20000,
      'the mapping error on the ticket row',
    );
    expect(list.tickets[0]!.lastError).toMatch(/^service problem not sent: priority "High" has no TMF656 priority/);
    expect(problemOf('JIRA-1')).toBeUndefined();
  });

  it('takes a negative number after --priority as its value', async () => {
    const r = await runCli(['ticket', 'upsert', '--id', 'NEG-1', '--priority', '-1', '--state', 'New'], { env: cliEnv });
    expect(r.code).toBe(0);
    expect((await queryTicket(client, 'NEG-1'))!.ticket).toMatchObject({ priority: -1 });
  });
});

describe('partial updates', () => {
  it("merges only the fields sent, keeps the target attached and sends SNOW the ticket's real priority", async () => {
    await runCli(['ticket', 'upsert', '--id', 'PART-1', '--priority', '2 normal', '--state', 'New', '--field', 'kind=incident', '--field', 'owner=ann'], { env: cliEnv });
    const problem = await eventually(async () => problemOf('PART-1'), 20000, 'problem');
    const file = path.join(dir(), 'part-1.json');
    fs.writeFileSync(file, JSON.stringify({ id: 'PART-1', summary: 'Link down', owner: null }));
    const r = await runCli(['ticket', 'update', '--id', 'PART-1', '--file', file], { env: cliEnv });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/P2-normal InProcess/);
    const view = (await queryTicket(client, 'PART-1'))!;
    expect(view.ticket).toEqual({ id: 'PART-1', priority: '2 normal', state: 'New', kind: 'incident', summary: 'Link down' });
    await eventually(
      async () => {
        const chars = (stack.emulator.problems.get(String(problem.id))?.characteristic ?? []) as { name: string }[];
        return chars.some((c) => c.name === 'summary') ? true : undefined;
      },
      20000,
      'the summary in SNOW',
    );
    expect(stack.emulator.problems.get(String(problem.id))).toMatchObject({ priority: 2 });
    expect(stack.emulator.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith(String(problem.id))).every((q) => (q.body as { priority?: number }).priority !== 5)).toBe(
      true,
    );
  });

  it('refuses a patch that would change the id, with one line, and changes nothing', async () => {
    const r = await runCli(['ticket', 'update', '--id', 'PART-1', '--file', '-'], { env: cliEnv, stdin: '{"id": "OTHER"}' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('slm: invalid ticket patch: id: cannot change or remove the id (the ticket is PART-1)\n');
  });
});

describe('refused changes', () => {
  it('lists a malformed change sent by signal, with its reason, in slm ticket show (text, JSON, and after the run is gone)', async () => {
    await upsertTicket(client, config, { id: 'REJ-1', kind: 'incident', state: 'New' });
    await client.workflow.getHandle(ticketWorkflowId('REJ-1')).signal(upsertTicketSignal, { id: 'SOMEONE-ELSE', state: 'New' });
    const shown = await eventually(
      async () => {
        const r = await runCli(['ticket', 'show', 'REJ-1', '--json'], { env: cliEnv });
        const doc = JSON.parse(r.stdout) as { rejectedChanges: { at: string; reason: string }[] };
        return doc.rejectedChanges.length ? doc : undefined;
      },
      20000,
      'the refusal in ticket show',
    );
    expect(shown.rejectedChanges[0]!.reason).toMatch(/ticket id "SOMEONE-ELSE" does not belong to workflow ticket:REJ-1/);
    expect(Date.parse(shown.rejectedChanges[0]!.at)).toBeGreaterThan(Date.now() - 60000);
    const text = await runCli(['ticket', 'show', 'REJ-1'], { env: cliEnv });
    expect(text.stdout).toMatch(/^refused {5}\S+Z {2}ticket id "SOMEONE-ELSE" does not belong/m);
    // Saved with the ticket: the database view lists it too.
    const [row] = await eventually(
      async () => {
        const rows = await stack.db.db.select().from(tickets).where(eq(tickets.ticketId, 'REJ-1'));
        return (rows[0]?.rejectedChanges as unknown[] | undefined)?.length ? rows : undefined;
      },
      20000,
      'the refusal saved',
    );
    expect(JSON.stringify(row!.rejectedChanges)).toContain('SOMEONE-ELSE');
  });
});

describe('every measurement a ticket had is stored', () => {
  it('keeps the Detached measurement beside a re-attached one in PostgreSQL', async () => {
    await upsertTicketChecked(client, config, { id: 'RE-1', priority: '2 normal', state: 'New' });
    await upsertTicketChecked(client, config, { id: 'RE-1', priority: '3', state: 'New' });
    const res = await upsertTicketChecked(client, config, { id: 'RE-1', priority: '2 normal', state: 'New' });
    expect(res.measurements.filter((m) => m.serviceTargetId === 'P2-normal').map((m) => m.status)).toEqual(['Detached', 'InProcess']);
    const rows = await eventually(
      async () => {
        const r = await stack.db.db.select().from(measurements).where(eq(measurements.subjectId, 'RE-1'));
        return r.length === 2 ? r : undefined;
      },
      20000,
      'two rows',
    );
    expect(rows.map((r) => [r.instance, r.status]).sort()).toEqual([
      [0, 'Detached'],
      [1, 'InProcess'],
    ]);
  });
});

describe('timers that run late', () => {
  it('records when a milestone and a due instant actually ran after the workers were down past them, and the timeline shows it', async () => {
    const res = await upsertTicketChecked(client, config, { id: 'LATE-1', kind: 'late', state: 'Draft' });
    const startedAt = Date.parse(res.measurements.find((m) => m.serviceTargetId === 'late')!.startedAt!);
    await stack.workers.stop();
    // The milestone (1 s) and the due instant (4 s) pass while no worker runs.
    await new Promise((r) => setTimeout(r, 15000));
    stack.workers = await startWorkers({ connection: stack.native, db: stack.db, snowUrl: stack.emulator.url, config });
    const m = await eventually(
      async () => {
        const x = (await queryTicket(client, 'LATE-1'))?.measurements.find((y) => y.serviceTargetId === 'late');
        return x?.status === 'MissedGoal' && x.firings.length ? x : undefined;
      },
      30000,
      'MissedGoal after the outage',
    );
    expect(Date.parse(m.firings[0]!.firedAt)).toBe(startedAt + 1000);
    expect(Date.parse(m.firings[0]!.ranAt!) - startedAt).toBeGreaterThan(14000);
    const missed = m.segments.find((s) => s.status === 'MissedGoal')!;
    expect(Date.parse(missed.start)).toBe(startedAt + 4000);
    expect(Date.parse(missed.ranAt!) - startedAt).toBeGreaterThan(14000);
    const timeline = await runCli(['ticket', 'show', 'LATE-1', '--timeline'], { env: cliEnv });
    expect(timeline.stdout).toMatch(/milestone quarter #1 fired \(ran 1\ds late, at /);
    expect(timeline.stdout).toMatch(/MissedGoal goal passed; clock still running — counted .* \(ran 1\ds late, at /);
  });
});

describe('the Temporal UI page of a ticket', () => {
  it('has a static summary and current details naming state, priority, breach and next due', async () => {
    await upsertTicketChecked(client, config, { id: 'UI-1', priority: '2 normal', state: 'New' });
    const handle = client.workflow.getHandle(ticketWorkflowId('UI-1'));
    expect(await (await handle.describe()).staticSummary()).toBe('Ticket UI-1 · state New · priority "2 normal"');
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain('**Ticket UI-1** — state New, priority "2 normal" (2)');
    expect(meta.currentDetails).toMatch(/Breached: no · next due: \d{4}-\d\d-\d\dT/);
    expect(meta.currentDetails).toContain('- P2-normal: InProcess, due');
    await upsertTicketChecked(client, config, { id: 'UI-1', priority: '2 normal', state: 'Resolved' });
    const closed = await eventually(
      async () => {
        const m = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        return m.currentDetails.includes('waiting out the reopen window') ? m : undefined;
      },
      20000,
      'the closed details',
    );
    expect(closed.currentDetails).toContain('**Closed**: every measurement is final');
  });
});

describe('the CLI', () => {
  it('says its stack is not running when runtime.json names a dead process, and acts on nothing', async () => {
    const dataDir = fs.mkdtempSync(path.join(dir(), 'stale-'));
    fs.writeFileSync(
      path.join(dataDir, 'runtime.json'),
      JSON.stringify({ temporalAddress: stack.dev.address, namespace: 'default', databaseUrl: stack.db.url, pid: 2 ** 22 + 17 }),
    );
    const r = await runCli(['ticket', 'upsert', '--id', 'STALE-1', '--state', 'New'], { env: { SLM_DATA_DIR: dataDir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^slm: the stack recorded in .*runtime\.json is not running \(its process \d+ is gone\): start it with `npm start`, or set TEMPORAL_ADDRESS/);
    expect(await workflowExists('ticket:STALE-1')).toBe(false);
    const none = await runCli(['tickets', 'list'], { env: { SLM_DATA_DIR: fs.mkdtempSync(path.join(dir(), 'none-')) } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^slm: no stack to talk to: `npm start` is not running on .* and DATABASE_URL is not set\n$/);
  });

  it('reports a Temporal error in one line naming the cause', async () => {
    const r = await runCli(['ticket', 'upsert', '--id', 'NS-1', '--state', 'New'], { env: { ...cliEnv, TEMPORAL_NAMESPACE: 'no-such-namespace' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/is not a function/);
    expect(r.stderr).toMatch(/no-such-namespace/);
  });

  it('writes all of a replay over 1 MiB through a pipe, byte for byte as to a file', async () => {
    const defs = path.join(dir(), 'pipe-defs.json');
    const events = path.join(dir(), 'pipe-events.jsonl');
    fs.writeFileSync(defs, JSON.stringify(DEFINITIONS));
    const lines: string[] = [];
    for (let i = 0; i < 400; i++)
      lines.push(JSON.stringify({ at: new Date(Date.UTC(2026, 2, 2, 9, 0, i)).toISOString(), ticket: { id: `T${i}`, priority: '2 normal', state: 'New' } }));
    for (let i = 0; i < 60; i++) lines.push(JSON.stringify({ at: '2026-03-02T10:00:00Z', check: `c${i}` }));
    fs.writeFileSync(events, lines.join('\n'));
    const toFile = path.join(dir(), 'replay-out.jsonl');
    const toPipe = path.join(dir(), 'replay-piped.jsonl');
    const slm = `${process.execPath} ${path.join(ROOT, 'bin', 'slm.cjs')} replay --definitions ${defs} --events ${events}`;
    const sh = (cmd: string) =>
      new Promise<number>((resolve) =>
        spawn('sh', ['-c', cmd], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } }).on('close', (c) => resolve(c ?? -1)),
      );
    expect(await sh(`${slm} > ${toFile}`)).toBe(0);
    // A slow reader: the pipe fills and the CLI must wait for it, not exit.
    expect(await sh(`${slm} | (sleep 1; cat) > ${toPipe}`)).toBe(0);
    const a = fs.readFileSync(toFile);
    expect(a.length).toBeGreaterThan(1024 * 1024);
    expect(fs.readFileSync(toPipe).equals(a)).toBe(true);
  });
});

describe('the npm scripts the README names', () => {
  const npm = (args: string[], vars: Record<string, string>) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn('npm', ['run', '--silent', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...vars } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, out }));
    });

  it('npm run db:migrate migrates the database it is given, and says so', async () => {
    const base = new URL(stack.db.url);
    base.pathname = '/postgres';
    const admin = new PgClient({ connectionString: base.toString() });
    await admin.connect();
    const name = `t_migrate_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    base.pathname = `/${name}`;
    const r = await npm(['db:migrate'], { DATABASE_URL: base.toString(), SLM_DATA_DIR: dir() });
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/^migrations applied to postgres:\/\//m);
    const check = new PgClient({ connectionString: base.toString() });
    await check.connect();
    try {
      const tables = await check.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      expect(tables.rows.map((t) => t.table_name)).toEqual(expect.arrayContaining(['tickets', 'measurements', 'snow_slots']));
    } finally {
      await check.end();
    }
  });

  it('npm run provision names where each tool is', async () => {
    const r = await npm(['provision'], { TEMPORAL_CLI: env('SLM_TEST_TEMPORAL_CLI') });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Temporal CLI +\//);
    expect(r.out).toMatch(/Temporal test server +\//);
    expect(r.out).toMatch(/PostgreSQL binaries +\//);
  });
});

describe('a bare namespace (a plain Temporal cluster)', () => {
  let bare: DevServer;
  beforeAll(async () => {
    bare = await startDevServer({
      cli: env('SLM_TEST_TEMPORAL_CLI'),
      dbFile: path.join(dir(), `bare-${process.pid}.sqlite`),
      port: await freePort(),
      durable: false,
      searchAttributes: false,
    });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  async function attributes(): Promise<string[]> {
    const connection = await Connection.connect({ address: bare.address });
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      return Object.keys(res.customAttributes ?? {}).filter((k) => k.startsWith('Slm'));
    } finally {
      await connection.close();
    }
  }

  it('gets the search attributes from `slm setup`, idempotently', async () => {
    expect(await attributes()).toEqual([]);
    const vars = { TEMPORAL_ADDRESS: bare.address, DATABASE_URL: stack.db.url, SLM_DATA_DIR: dir() };
    const first = await runCli(['setup'], { env: vars });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/added SlmTicketId, SlmTicketState/);
    expect(first.stdout).toMatch(/database: migrations applied/);
    expect((await attributes()).sort()).toEqual([
      'SlmAtRiskAgreements',
      'SlmBreached',
      'SlmBreachedAgreements',
      'SlmCiId',
      'SlmCiState',
      'SlmDown',
      'SlmIncidentNumber',
      'SlmNextDue',
      'SlmPriority',
      'SlmProblemId',
      'SlmStatuses',
      'SlmTicketId',
      'SlmTicketState',
    ]);
    const again = await runCli(['setup'], { env: vars });
    expect(again.stdout).toMatch(/all present/);
  });
});

it('registers the search attributes from the slm worker entry point on a bare namespace, and its first ticket works', async () => {
  const bare = await startDevServer({
    cli: env('SLM_TEST_TEMPORAL_CLI'),
    dbFile: path.join(dir(), `bare2-${process.pid}.sqlite`),
    port: await freePort(),
    durable: false,
    searchAttributes: false,
  });
  const worker = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'workers', 'slm.ts')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TEMPORAL_ADDRESS: bare.address, DATABASE_URL: stack.db.url, SNOW_SYNC_ENABLED: 'false', LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  worker.stdout.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await eventually(async () => (out.includes('registered search attributes') ? true : undefined), 60000, `the worker's registration (output: ${out})`);
    const r = await runCli(['ticket', 'upsert', '--id', 'FLEET-1', '--priority', '"2 normal"', '--state', 'New'], {
      env: { TEMPORAL_ADDRESS: bare.address, DATABASE_URL: stack.db.url },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/P2-normal InProcess/);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    await bare.stop();
  }
});
