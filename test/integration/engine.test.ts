/**
 * The measurement engine on the dev server with PostgreSQL: upserts through the validated update,
 * definition edits reaching running tickets, the timeline, replay from the CLI, search attributes,
 * and continue-as-new under thousands of changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { queryTicket, upsertTicket, upsertTicketChecked, type EngineSettings } from '../../src/client/tickets';
import { ticketWorkflowId } from '../../src/domain/ticket';
import { upsertTicketSignal, upsertTicketUpdate } from '../../src/workflows/messages';
import { env, eventually, runCli, startDevStack, testConfig, type DevStack } from '../support/harness';

const P1 = {
  id: 'P1',
  appliesTo: 'ticket.priority == 1',
  start: 'ticket.state != "Draft"',
  stop: 'ticket.state in ["Resolved", "Closed"]',
  exclude: 'ticket.state == "On Hold"',
  goal: { duration: '4h' },
  milestones: [{ name: 'half', at: { percentOfGoal: 50 } }],
};

let stack: DevStack;
let client: Client;
let cliEnv: Record<string, string>;
const config = testConfig();
const settings: EngineSettings = config;
const dir = () => env('SLM_TEST_DIR');

beforeAll(async () => {
  stack = await startDevStack({
    label: 'engine',
    definitions: { serviceTargets: [P1] },
    config,
    // Suggest continue-as-new early, so a few thousand changes exercise it several times.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 600 },
  });
  ({ client, cliEnv } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

it('takes upserts through an update: a malformed change is rejected to the caller and never reaches history', async () => {
  const res = await upsertTicketChecked(client, settings, { id: 'UPD-1', priority: 1, state: 'New' });
  expect(res.measurements).toEqual([expect.objectContaining({ serviceTargetId: 'P1', status: 'InProcess', goalSeconds: 14400 })]);

  const handle = client.workflow.getHandle(ticketWorkflowId('UPD-1'));
  const causeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: Error) => String((err.cause as Error | undefined)?.message),
    );
  let deep: Record<string, unknown> = { marker: 'urgent' };
  for (let i = 0; i < 40; i++) deep = { a: deep };
  expect(await causeOf(handle.executeUpdate(upsertTicketUpdate, { args: [{ id: 'UPD-1', priority: 1, deep } as never] }))).toMatch(
    /invalid ticket: deep(\.a)+: nested more than 32 levels deep/,
  );
  expect(await causeOf(handle.executeUpdate(upsertTicketUpdate, { args: [{ id: 'OTHER', priority: 1 }] }))).toMatch(/does not belong to workflow ticket:UPD-1/);
  const history = await handle.fetchHistory();
  const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
  expect(accepted).toHaveLength(1); // only the good one
  expect(JSON.stringify(history)).not.toContain('urgent');
  expect((await queryTicket(client, 'UPD-1'))!.ticket).toEqual({ id: 'UPD-1', priority: 1, state: 'New' });
});

it('recomputes open measurements when definitions are applied, keeps closed ones, and explains both in the timeline', async () => {
  await upsertTicketChecked(client, settings, { id: 'EDIT-OPEN', priority: 1, state: 'New' });
  await upsertTicketChecked(client, settings, { id: 'EDIT-DONE', priority: 1, state: 'New' });
  const done = (await upsertTicketChecked(client, settings, { id: 'EDIT-DONE', priority: 1, state: 'Resolved' })).measurements[0]!;
  const before = (await queryTicket(client, 'EDIT-OPEN'))!.measurements[0]!;

  const file = path.join(dir(), 'engine-defs.yaml');
  fs.writeFileSync(file, `serviceTargets:\n  - ${JSON.stringify({ ...P1, goal: { duration: '8h' } })}\n`);
  const applied = await runCli(['definitions', 'apply', file], { env: cliEnv });
  expect(applied).toMatchObject({ code: 0 });
  expect(applied.stdout).toMatch(/running tickets recomputed/);

  const after = await eventually(
    async () => {
      const m = (await queryTicket(client, 'EDIT-OPEN'))!.measurements[0]!;
      return m.goalSeconds === 28800 ? m : undefined;
    },
    20000,
    'goal edit applied',
  );
  expect(Date.parse(after.dueAt!) - Date.parse(before.dueAt!)).toBe(4 * 3600 * 1000);
  expect(after.definitionVersion).not.toBe(before.definitionVersion);
  expect((await queryTicket(client, 'EDIT-DONE'))!.measurements[0]).toMatchObject({ status: 'Met', goalSeconds: 14400, definitionVersion: done.definitionVersion });

  const timeline = await runCli(['ticket', 'show', 'EDIT-DONE', '--timeline'], { env: cliEnv });
  expect(timeline.code).toBe(0);
  const lines = timeline.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^P1 — Met \(24×7\), goal 4h, definitions v\d+$/);
  expect(lines.some((l) => /InProcess\s+clock running — counted/.test(l))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/^ {2}→ Met at .*: .* of 4h used — .* to spare \(elapsed within the goal\)$/);
});

it('publishes statuses, breach and next due as search attributes', async () => {
  await upsertTicket(client, settings, { id: 'SA-1', priority: 1, state: 'New' });
  const found = await eventually(
    async () => {
      for await (const wf of client.workflow.list({ query: `SlmStatuses = 'P1:InProcess' AND SlmTicketId = 'SA-1'` })) return wf;
      return undefined;
    },
    20000,
    'visibility',
  );
  expect(found.searchAttributes.SlmBreached).toEqual([false]);
  expect((found.searchAttributes.SlmNextDue as Date[])[0]!.getTime()).toBe(Date.parse((await queryTicket(client, 'SA-1'))!.measurements[0]!.dueAt!));
});

it('replays a history file from the CLI, and a ticket exported from its workflow replays to its live state', async () => {
  const defs = path.join(dir(), 'replay-defs.json');
  const events = path.join(dir(), 'replay-events.jsonl');
  fs.writeFileSync(
    defs,
    JSON.stringify({ serviceTargets: [{ ...P1, id: 'P2-resolution', appliesTo: 'ticket.priority == 2', milestones: [{ name: 'warn-50', at: { percentOfGoal: 50 } }] }] }),
  );
  fs.writeFileSync(
    events,
    [
      { at: '2026-03-02T09:30:00Z', ticket: { id: 'T1', state: 'New', priority: 2 } },
      { at: '2026-03-02T10:00:00Z', ticket: { id: 'T1', state: 'On Hold', priority: 2 } },
      { at: '2026-03-02T11:00:00Z', check: 'on hold' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const out = await runCli(['replay', '--definitions', defs, '--events', events]);
  expect(out.code).toBe(0);
  const [check, end] = out.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { check: string; at: string; measurements: Record<string, unknown>[] });
  expect(check).toMatchObject({ check: 'on hold', at: '2026-03-02T11:00:00.000Z' });
  expect(check!.measurements[0]).toMatchObject({
    ticketId: 'T1',
    serviceTargetId: 'P2-resolution',
    status: 'Pending',
    startedAt: '2026-03-02T09:30:00.000Z',
    stoppedAt: null,
    dueAt: null,
    goalSeconds: 14400,
    elapsedSeconds: 1800,
    pausedSeconds: 3600,
    metMissedSeconds: 12600,
    milestones: [{ name: 'warn-50', dueAt: null, firedAt: null, firings: 0 }],
  });
  expect(end!.check).toBe('end');

  const bad = await runCli(['replay', '--definitions', defs, '--events', defs]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^slm: line 1: /);

  // Export a live ticket and replay it: the same measurements.
  await upsertTicketChecked(client, settings, { id: 'EXP-1', priority: 1, state: 'New' });
  await upsertTicketChecked(client, settings, { id: 'EXP-1', priority: 1, state: 'On Hold' });
  await upsertTicketChecked(client, settings, { id: 'EXP-1', priority: 1, state: 'Closed' });
  const exportDir = path.join(dir(), 'export-EXP-1');
  const exported = await runCli(['ticket', 'export', 'EXP-1', '--out', exportDir], { env: cliEnv });
  expect(exported).toMatchObject({ code: 0 });
  const replayed = await runCli(['replay', '--definitions', path.join(exportDir, 'definitions.json'), '--events', path.join(exportDir, 'events.jsonl')]);
  const last = JSON.parse(replayed.stdout.trim().split('\n').pop()!) as { measurements: unknown[] };
  expect(last.measurements).toEqual((await queryTicket(client, 'EXP-1'))!.measurements);
});

it('continues as new under thousands of changes, carrying the measurement', async () => {
  const id = 'CAN-1';
  await upsertTicketChecked(client, settings, { id, priority: 1, state: 'Draft' });
  const handle = client.workflow.getHandle(ticketWorkflowId(id));
  const firstRun = (await handle.describe()).runId;
  // Three waves of 1 000 changes, sent 100 at a time (so in arbitrary order); each wave ends with one
  // change sent alone, and the next wave waits until it is applied.
  const waves = 3;
  let view: Awaited<ReturnType<typeof queryTicket>> = null;
  for (let w = 0; w < waves; w++) {
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => handle.signal(upsertTicketSignal, { id, priority: 1, state: w + i + k === 0 ? 'New' : 'In Progress', seq: w * 1000 + i + k })),
      );
    }
    const last = (w + 1) * 1000;
    await handle.signal(upsertTicketSignal, { id, priority: 1, state: w === waves - 1 ? 'On Hold' : 'In Progress', seq: last });
    view = await eventually(
      async () => {
        const v = await queryTicket(client, id);
        return v?.ticket?.seq === last ? v : undefined;
      },
      60000,
      `wave ${w + 1} applied`,
    );
  }
  const run = await handle.describe();
  expect(run.runId).not.toBe(firstRun);
  // A run continues as new at its first workflow task after the suggestion (600 events here) that the
  // server accepts, and the server refuses one while new signals keep arriving: a run may take in the
  // rest of a wave (1,000 changes, about two events each) after the suggestion, never all 3,000.
  const bound = 3000;
  expect(run.historyLength).toBeLessThan(bound);
  // Walk the chain of runs back through their start events: several runs, none of them unbounded.
  const lengths: number[] = [];
  for (let runId: string | undefined = run.runId; runId;) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(ticketWorkflowId(id), runId).fetchHistory();
    lengths.push(history.events?.length ?? 0);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  expect(lengths.length).toBeGreaterThanOrEqual(2);
  for (const n of lengths) expect(n).toBeLessThan(bound);
  expect(view!.measurements[0]).toMatchObject({ status: 'Pending', serviceTargetId: 'P1' });
  expect(Date.parse(view!.measurements[0]!.startedAt!)).toBeLessThan(Date.parse(run.startTime.toISOString()));
}, 180000);

it('continues as new while updates wait for their changes, answering every one of them', async () => {
  const id = 'CAN-UPD';
  await upsertTicketChecked(client, settings, { id, priority: 1, state: 'New', seq: 0 });
  const handle = client.workflow.getHandle(ticketWorkflowId(id));
  const firstRun = (await handle.describe()).runId;
  // Updates keep arriving while the history grows past the point where continue-as-new is suggested.
  for (let wave = 0; wave < 12; wave++) {
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, k) => upsertTicketChecked(client, settings, { id, priority: 1, state: 'In Progress', seq: wave * 25 + k + 1 })),
    );
    expect(answers).toHaveLength(25);
  }
  expect((await handle.describe()).runId).not.toBe(firstRun);
  expect((await queryTicket(client, id))!.measurements[0]).toMatchObject({ status: 'InProcess' });
}, 180000);
