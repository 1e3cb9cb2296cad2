/**
 * One ticket end to end through real servers: the Temporal dev server, PostgreSQL, the SNOW emulator
 * over HTTP, both workers, and the `slm` CLI as a separate process.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { request } from 'undici';
import { measurements, tickets } from '../../src/db/schema';
import { TmfClient } from '../../src/clients/tmf';
import { ensureProblemSync } from '../../src/client/sync';
import { queryTicket, upsertTicket, upsertTicketChecked } from '../../src/client/tickets';
import type { Emulator } from '../../src/emulator/server';
import { env, eventually, loadBundle, runCli, SNOW, startDevStack, testConfig, type DevStack } from '../support/harness';

const SPEC_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'specs', 'tmf');

let stack: DevStack;
let emulator: Emulator;
let db: DevStack['db'];
let client: Client;
let cliEnv: Record<string, string>;
const config = testConfig();

beforeAll(async () => {
  stack = await startDevStack({
    label: 'e2e',
    config,
    definitions: {
      serviceTargets: [
        {
          id: 'P1-resolution',
          appliesTo: 'ticket.priority == 1',
          stop: 'ticket.state in ["Resolved", "Closed"]',
          exclude: 'ticket.state == "On Hold"',
          goal: { duration: '4h' },
        },
      ],
    },
  });
  ({ emulator, db, client, cliEnv } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

const posts = () => emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/serviceProblem'));

it('creates exactly one service problem, PATCHes it to resolved, and records the measurement as Met', async () => {
  const up = await runCli(['ticket', 'upsert', '--id', 'E2E-1', '--priority', '1', '--state', 'New', '--field', 'category=network', '--field', 'deviceIp=10.0.0.7'], {
    env: cliEnv,
  });
  expect(up).toMatchObject({ code: 0 });
  // The update returns once the change is measured: the attached target and its due instant.
  expect(up.stdout).toMatch(/^ticket E2E-1 measured: P1-resolution InProcess due \d{4}-\d\d-\d\dT/);

  const problem = await eventually(async () => [...emulator.problems.values()].find((p) => p.correlationId === 'ticket:E2E-1'), 20000, 'service problem');
  // The POST carries every field TMF656 v4 makes mandatory on create.
  const spec = JSON.parse(fs.readFileSync(path.join(SPEC_DIR, 'TMF656_v4.0.0.swagger.json'), 'utf8')) as {
    definitions: Record<string, { required?: string[] }>;
  };
  const required = spec.definitions.ServiceProblem_Create?.required ?? [];
  expect(required).toEqual(expect.arrayContaining(['category', 'priority', 'description', 'reason', 'originatorParty']));
  const sent = posts().filter((r) => (r.body as { correlationId?: string }).correlationId === 'ticket:E2E-1');
  expect(sent).toHaveLength(1);
  for (const field of required) expect(sent[0]!.body).toHaveProperty(field);
  const body = sent[0]!.body as { category: string; priority: number; originatorParty: { id: unknown; '@referredType': unknown } };
  expect(body).toMatchObject({ category: 'network', priority: 1 });
  expect(typeof body.originatorParty.id).toBe('string');
  expect(typeof body.originatorParty['@referredType']).toBe('string');

  // Problem id, incident number and link come back onto the ticket (query, database, search attributes).
  const shown = await eventually(
    async () => {
      const r = await runCli(['ticket', 'show', 'E2E-1', '--json'], { env: cliEnv });
      const doc = JSON.parse(r.stdout) as { serviceProblem: { id: string; incidentNumber: string; link: string } | null };
      return doc.serviceProblem ? doc : undefined;
    },
    20000,
    'ticket show with problem',
  );
  expect(shown.serviceProblem).toMatchObject({ id: problem.id, incidentNumber: problem.number, link: problem.link });
  const row = await eventually(
    async () => {
      const [r] = await db.db.select().from(tickets).where(eq(tickets.ticketId, 'E2E-1'));
      return r?.problemId ? r : undefined;
    },
    20000,
    'ticket row with problem',
  );
  expect(row).toMatchObject({ problemId: problem.id, incidentNumber: problem.number, link: problem.link });
  const found = await eventually(
    async () => {
      const list = [];
      for await (const w of client.workflow.list({ query: `SlmTicketId = 'E2E-1' AND SlmProblemId = '${String(problem.id)}'` })) list.push(w);
      return list.length === 1 ? list : undefined;
    },
    20000,
    'search attributes',
  );
  expect(found[0]!.workflowId).toBe('ticket:E2E-1');

  const resolved = await runCli(['ticket', 'upsert', '--id', 'E2E-1', '--priority', '1', '--state', 'Resolved', '--field', 'category=network', '--field', 'deviceIp=10.0.0.7'], {
    env: cliEnv,
  });
  expect(resolved.code).toBe(0);
  await eventually(async () => (emulator.problems.get(String(problem.id))?.status === 'resolved' ? true : undefined), 20000, 'problem resolved');
  const patches = emulator.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/serviceProblem/${String(problem.id)}`));
  expect(patches).toHaveLength(1);
  expect(patches[0]!.body).toMatchObject({ status: 'resolved' });

  const m = await eventually(
    async () => {
      const [r] = await db.db.select().from(measurements).where(eq(measurements.subjectId, 'E2E-1'));
      return r?.status === 'Met' ? r : undefined;
    },
    20000,
    'Met row',
  );
  expect(m.serviceTargetId).toBe('P1-resolution');
  expect(posts().filter((r) => (r.body as { correlationId?: string }).correlationId === 'ticket:E2E-1')).toHaveLength(1);

  const list = await runCli(['tickets', 'list', '--json'], { env: cliEnv });
  const doc = JSON.parse(list.stdout) as { total: number; page: number; tickets: Record<string, unknown>[] };
  expect(doc.total).toBe(1);
  expect(doc.tickets[0]).toMatchObject({ ticketId: 'E2E-1', state: 'Resolved', problemId: problem.id, incidentNumber: problem.number, lastError: null });
});

it('creates exactly one service problem when SNOW commits the POST and drops the connection', async () => {
  const setFaults = async (body: unknown) => (await request(`${emulator.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify(body) })).body.dump();
  await setFaults({ dropRate: 1 });
  try {
    const up = await runCli(['ticket', 'upsert', '--id', 'DROP-1', '--priority', '2', '--state', 'New'], { env: cliEnv });
    expect(up.code).toBe(0);
    // The retry looks the ticket's correlation id up instead of posting again.
    const view = await eventually(
      async () => {
        const r = await runCli(['ticket', 'show', 'DROP-1', '--json'], { env: cliEnv });
        const doc = JSON.parse(r.stdout) as { serviceProblem: { id: string } | null };
        return doc.serviceProblem ? doc : undefined;
      },
      30000,
      'problem after a dropped POST',
    );
    const mine = [...emulator.problems.values()].filter((p) => p.correlationId === 'ticket:DROP-1');
    expect(mine).toHaveLength(1);
    expect(view.serviceProblem!.id).toBe(mine[0]!.id);
    expect(posts().filter((r) => (r.body as { correlationId?: string }).correlationId === 'ticket:DROP-1')).toHaveLength(1);
    expect(emulator.requests.some((r) => r.method === 'GET' && decodeURIComponent(r.query).includes('correlationId=ticket:DROP-1'))).toBe(true);
  } finally {
    await setFaults({});
  }
});

/** A ticket of the test's own, through its problem creation and resolution (so the history has TMF calls). */
async function ticketThroughSnow(id: string): Promise<void> {
  await upsertTicketChecked(client, config, { id, priority: 1, state: 'New', deviceIp: '10.1.1.1' });
  await eventually(async () => ((await queryTicket(client, id))?.serviceProblem ? true : undefined), 20000, `${id} problem`);
  await upsertTicketChecked(client, config, { id, priority: 1, state: 'Resolved' });
  await eventually(async () => ((await queryTicket(client, id))?.serviceProblem?.status === 'resolved' ? true : undefined), 20000, `${id} resolved`);
}

it('keeps SNOW credentials out of workflow history and search attributes', async () => {
  await ticketThroughSnow('SECRET-1');
  const history = await client.workflow.getHandle('ticket:SECRET-1').fetchHistory();
  const text = JSON.stringify(history);
  expect(text).not.toContain(SNOW.password);
  expect(text).not.toContain(Buffer.from(`${SNOW.username}:${SNOW.password}`).toString('base64'));
});

it('replays the ticket workflow history deterministically with the current code', async () => {
  await ticketThroughSnow('REPLAY-1');
  const history = await client.workflow.getHandle('ticket:REPLAY-1').fetchHistory();
  expect((history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
  await expect(Worker.runReplayHistory({ workflowBundle: loadBundle() }, history, 'ticket:REPLAY-1')).resolves.toBeUndefined();
});

it('polls SNOW for changes to our problems and records them on the ticket; the poll loop is steerable', async () => {
  await ensureProblemSync(client, { ...config, SNOW_SYNC_FREQUENCY: 10 });
  expect(await runCli(['ticket', 'upsert', '--id', 'SYNC-1', '--priority', '2', '--state', 'New'], { env: cliEnv })).toMatchObject({ code: 0 });
  const problem = await eventually(async () => [...emulator.problems.values()].find((p) => p.correlationId === 'ticket:SYNC-1'), 20000, 'problem');

  // SNOW puts the problem on hold on its side.
  const snow = new TmfClient({
    baseUrl: emulator.url,
    problemPath: config.SNOW_PROBLEM_PATH,
    alarmPath: config.SNOW_ALARM_PATH,
    username: SNOW.username,
    password: SNOW.password,
    timeoutMs: 5000,
    connections: 1,
  });
  try {
    await snow.patchProblem(String(problem.id), { status: 'held' });
  } finally {
    await snow.close();
  }
  const seen = await eventually(
    async () => {
      const r = await runCli(['ticket', 'show', 'SYNC-1', '--json'], { env: cliEnv });
      const doc = JSON.parse(r.stdout) as { serviceProblem: { status: string } | null };
      return doc.serviceProblem?.status === 'held' ? doc : undefined;
    },
    30000,
    'remote status on the ticket',
  );
  expect(seen.serviceProblem!.status).toBe('held');
  // Recording SNOW's change sends nothing back to SNOW.
  expect(emulator.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(String(problem.id)))).toHaveLength(1);

  const status = JSON.parse((await runCli(['sync', 'status', '--json'], { env: cliEnv })).stdout) as {
    enabled: boolean;
    frequencySeconds: number;
    polls: number;
    changesForwarded: number;
  };
  expect(status).toMatchObject({ enabled: true, frequencySeconds: 10 });
  expect(status.polls).toBeGreaterThanOrEqual(1);
  expect(status.changesForwarded).toBeGreaterThanOrEqual(1);

  const tooFast = await runCli(['sync', 'frequency', '5'], { env: cliEnv });
  expect(tooFast.code).toBe(2);
  expect(tooFast.stderr).toMatch(/from 10 to 86400, got 5/);
  expect(JSON.parse((await runCli(['sync', 'pause', '--json'], { env: cliEnv })).stdout)).toMatchObject({ enabled: false });
  expect(JSON.parse((await runCli(['sync', 'frequency', '30', '--json'], { env: cliEnv })).stdout)).toMatchObject({ enabled: false, frequencySeconds: 30 });
  expect(JSON.parse((await runCli(['sync', 'resume', '--json'], { env: cliEnv })).stdout)).toMatchObject({ enabled: true, frequencySeconds: 30 });
});

it('coalesces a burst of 50 changes into a handful of PATCHes, ending in the last state', async () => {
  await upsertTicket(client, config, { id: 'BURST-1', priority: 3, state: 'New', step: 0 });
  const problem = await eventually(async () => [...emulator.problems.values()].find((p) => p.correlationId === 'ticket:BURST-1'), 20000, 'problem');
  await eventually(async () => ((await queryTicket(client, 'BURST-1'))?.serviceProblem ? true : undefined), 20000, 'problem on the ticket');
  for (let step = 1; step <= 50; step++) await upsertTicket(client, config, { id: 'BURST-1', priority: 3, state: step % 2 ? 'In Progress' : 'Assigned', step });
  await eventually(
    async () => {
      const chars = emulator.problems.get(String(problem.id))?.characteristic as { name: string; value: unknown }[] | undefined;
      return chars?.find((c) => c.name === 'step')?.value === 50 ? true : undefined;
    },
    30000,
    'the last step in SNOW',
  );
  const patches = emulator.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(String(problem.id)));
  expect(patches.length).toBeGreaterThanOrEqual(1);
  expect(patches.length).toBeLessThanOrEqual(10);
  // In order: the steps SNOW received only ever increase.
  const steps = patches.map((r) => ((r.body as { characteristic?: { name: string; value: number }[] }).characteristic ?? []).find((c) => c.name === 'step')?.value ?? -1);
  expect([...steps].sort((x, y) => x - y)).toEqual(steps);
  expect(emulator.problems.get(String(problem.id))?.status).toBe('acknowledged'); // step 50: Assigned
});

it('raises one TMF642 alarm when the device IP is cleared, also when SNOW drops the answer', async () => {
  const setFaults = async (body: unknown) => (await request(`${emulator.url}/_emulator/faults`, { method: 'PUT', body: JSON.stringify(body) })).body.dump();
  await upsertTicket(client, config, { id: 'ALARM-1', priority: 2, state: 'In Progress', deviceIp: '10.9.9.9' });
  const problem = await eventually(async () => (await queryTicket(client, 'ALARM-1'))?.serviceProblem ?? undefined, 20000, 'problem');
  await setFaults({ dropRate: 1 });
  try {
    await upsertTicket(client, config, { id: 'ALARM-1', priority: 2, state: 'In Progress' });
    const view = await eventually(
      async () => {
        const v = await queryTicket(client, 'ALARM-1');
        return v?.alarms.length ? v : undefined;
      },
      30000,
      'alarm on the ticket',
    );
    const mine = [...emulator.alarms.values()].filter((a) => String(a.externalAlarmId).startsWith('ticket:ALARM-1:'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ alarmedObject: { id: '10.9.9.9' }, state: 'raised', perceivedSeverity: 'major', sourceSystemId: 'temporal-slm' });
    expect(String(mine[0]!.alarmDetails)).toContain(problem.id);
    for (const f of ['alarmType', 'perceivedSeverity', 'probableCause', 'alarmedObject', 'sourceSystemId', 'state', 'alarmRaisedTime']) expect(mine[0]).toHaveProperty(f);
    expect(view.alarms[0]).toMatchObject({ id: String(mine[0]!.id), device: '10.9.9.9' });
  } finally {
    await setFaults({});
  }
  // Clearing it again without setting it first raises nothing more.
  await upsertTicket(client, config, { id: 'ALARM-1', priority: 2, state: 'Resolved' });
  await eventually(async () => ((await queryTicket(client, 'ALARM-1'))?.serviceProblem?.status === 'resolved' ? true : undefined), 20000, 'resolved');
  expect([...emulator.alarms.values()].filter((a) => String(a.externalAlarmId).startsWith('ticket:ALARM-1:'))).toHaveLength(1);
});

describe('bad input to slm ticket upsert', () => {
  async function workflowCount(): Promise<number> {
    return (await client.workflow.count()).count;
  }

  it.each([
    ['no id', ['ticket', 'upsert', '--priority', '1', '--state', 'New'], /needs --id/],
    ['a non-JSON file', ['ticket', 'upsert', '--file', __filename], /is not JSON/],
    ['an id with spaces', ['ticket', 'upsert', '--id', 'BAD 1', '--priority', 'high', '--state', 'New'], /invalid ticket: id: must not contain spaces/],
    ['a JSON ticket without id on stdin', ['ticket', 'upsert', '--file', '-'], /invalid ticket: id/],
  ])('rejects %s with a one-line error and starts no workflow', async (_label, args, message) => {
    const before = await workflowCount();
    const r = await runCli(args, { env: cliEnv, stdin: '{"state": "New", "priority": 1}' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(await workflowCount()).toBe(before);
  });
});

it('applies a definitions file, refuses an invalid one whole, and skips an identical one', async () => {
  const bad = path.join(env('SLM_TEST_DIR'), 'bad-definitions.yaml');
  fs.writeFileSync(bad, 'serviceTargets:\n  - id: X\n    appliesTo: ticket.priority ==\n    stop: "true"\n    goal: { duration: 1h }\n');
  const rejected = await runCli(['definitions', 'apply', bad], { env: cliEnv });
  expect(rejected.code).toBe(2);
  expect(rejected.stderr).toMatch(/^slm: invalid definitions at serviceTargets\[0\]\.appliesTo: invalid CEL/);

  const examples = path.join(__dirname, '..', '..', 'examples', 'definitions.yaml');
  const applied = await runCli(['definitions', 'apply', examples], { env: cliEnv });
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/^definitions v\d+: 5 service targets, 1 calendar; \d+ running tickets recomputed(, \d+ CIs?)?$/m);
  const again = await runCli(['definitions', 'apply', examples], { env: cliEnv });
  expect(again.stdout).toMatch(/\(unchanged\)/);
});
