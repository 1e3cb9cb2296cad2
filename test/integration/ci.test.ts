/**
 * CI workflows end to end on the dev server with PostgreSQL (DESIGN §4.7): snapshots and KPI samples
 * through the CLI, availability and performance measurements, a milestone's webhook, a definitions
 * edit reaching a running CI, search attributes, the KPI reduction (samples that change nothing never
 * reach history), and an exported history replaying to the live result field by field.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { CiDoc, CiListDoc } from '../../src/app/documents';
import { signalCi } from '../../src/client/cis';
import { ciWorkflowId } from '../../src/domain/ci/ci';
import { startWebhookReceiver } from '../support/catchers';
import { env, eventually, runCli, startDevStack, testConfig, type DevStack } from '../support/harness';

let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
const defs = (goal = 99.5) => ({
  serviceTargets: [
    {
      id: 'web-availability',
      type: 'availability',
      appliesTo: 'ci.class == "web"',
      goal: { availability: goal },
      costPerMinute: 10,
      milestones: [{ name: 'down-2s', at: { downFor: '2s' }, actions: [{ notify: { webhook: hooks.url } }] }],
    },
    {
      id: 'db-latency',
      type: 'performance',
      appliesTo: 'ci.class == "db"',
      warning: 'kpi.latency_ms > 200',
      alarm: 'kpi.latency_ms > 500',
      missingData: { after: '1h', treatAs: 'unknown' },
      goal: { availability: 99 },
    },
  ],
});

let stack: DevStack;
let client: Client;
let cliEnv: Record<string, string>;
const config = testConfig();
const dir = () => env('SLM_TEST_DIR');

beforeAll(async () => {
  hooks = await startWebhookReceiver();
  // Continue-as-new suggested early, so a flapping CI exercises it.
  stack = await startDevStack({ label: 'ci', definitions: defs(), config, dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 300 } });
  ({ client, cliEnv } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

const cli = async (...args: string[]) => {
  const r = await runCli(args, { env: cliEnv });
  if (r.code !== 0) throw new Error(`slm ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const show = async (id: string) => JSON.parse(await cli('ci', 'show', id, '--json')) as CiDoc;

it('measures availability from CI snapshots, fires a downFor milestone, and lists and finds the CI', async () => {
  await cli('ci', 'upsert', '--id', 'web-1', '--class', 'web', '--status', 'up');
  await eventually(async () => ((await show('web-1')).measurements[0]?.state === 'up' ? true : undefined), 20000, 'web-1 up');
  await cli('ci', 'upsert', '--id', 'web-1', '--class', 'web', '--status', 'down');
  const hook = await eventually(async () => hooks.hooks.find((h) => (h.body as { ciId?: string }).ciId === 'web-1'), 20000, 'downFor webhook');
  expect(hook.body).toMatchObject({ event: 'milestone', ciId: 'web-1', serviceTargetId: 'web-availability', milestone: 'down-2s', occurrence: 1 });
  expect(hook.headers['idempotency-key']).toBe('ci:web-1|web-availability|down-2s|1|0|webhook');
  await cli('ci', 'upsert', '--id', 'web-1', '--class', 'web', '--status', 'up');
  const doc = await eventually(async () => {
    const d = await show('web-1');
    return d.measurements[0]?.segments.length === 3 ? d : undefined;
  });
  const m = doc.measurements[0]!;
  expect(m.segments.map((s) => s.state)).toEqual(['up', 'down', 'up']);
  expect(m).toMatchObject({ status: 'InProcess', state: 'up', downCount: 1, type: 'availability' });
  expect(m.downSeconds).toBeGreaterThanOrEqual(2);
  expect(m.milestones[0]!.firedAt).not.toBeNull();

  const list = JSON.parse(await cli('cis', 'list', '--json', '--filter', 'web-')) as CiListDoc;
  expect(list.cis.map((c) => [c.ciId, c.class, c.state, c.down])).toEqual([['web-1', 'web', 'up', false]]);
  const timeline = await cli('ci', 'show', 'web-1', '--timeline');
  expect(timeline).toMatch(/web-availability \[availability\] InProcess up/);
  expect(timeline).toMatch(/→ .*down/);

  // Search attributes: the CI, its headline state, whether it is down.
  await cli('ci', 'upsert', '--id', 'web-2', '--class', 'web', '--status', 'down');
  const found = await eventually(
    async () => {
      for await (const wf of client.workflow.list({ query: `SlmDown = true AND SlmCiId = 'web-2'` })) return wf;
      return undefined;
    },
    30000,
    'SlmDown search attribute',
  );
  expect(found.searchAttributes.SlmCiState).toEqual(['down']);
});

it('measures performance from KPI samples; samples that change no state never reach history; a bad sample is refused whole', async () => {
  await cli('ci', 'upsert', '--id', 'db-1', '--class', 'db');
  const attached = await eventually(async () => (await show('db-1')).measurements[0]?.startedAt, 20000, 'db-1 attached');
  // Samples measured after the CI attached (a run never rewrites time it already measured), sent at once.
  const t0 = Date.parse(attached) + 1000;
  const samples = [];
  // 40 samples that keep the CI ok, then one in alarm, then 20 ok again, 100 ms apart.
  for (let i = 0; i < 40; i++) samples.push({ ci: 'db-1', name: 'latency_ms', value: 50 + (i % 7), at: new Date(t0 + i * 100).toISOString() });
  samples.push({ ci: 'db-1', name: 'latency_ms', value: 900, at: new Date(t0 + 4000).toISOString() });
  for (let i = 41; i < 61; i++) samples.push({ ci: 'db-1', name: 'latency_ms', value: 60, at: new Date(t0 + i * 100).toISOString() });
  while (Date.now() < t0 + 6200) await new Promise((r) => setTimeout(r, 100));
  const file = path.join(dir(), `kpis-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(samples));
  const out = await cli('kpi', 'push', '--file', file);
  expect(out).toMatch(/^61 sample\(s\) for 1 CI\(s\) accepted; 3 state change\(s\) forwarded/);

  const doc = await eventually(async () => {
    const d = await show('db-1');
    return d.measurements[0]?.segments.length === 4 ? d : undefined;
  });
  expect(doc.measurements[0]!.segments.map((s) => [s.state, s.startAt])).toEqual([
    ['unknown', attached],
    ['ok', new Date(t0).toISOString()],
    ['alarm', new Date(t0 + 4000).toISOString()],
    ['ok', new Date(t0 + 4100).toISOString()],
  ]);
  expect(doc.kpis.latency_ms).toEqual({ value: 60, at: new Date(t0 + 6000).toISOString() });
  const history = await client.workflow.getHandle(ciWorkflowId('db-1')).fetchHistory();
  const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'kpiReadings');
  expect(signals).toHaveLength(1); // one push, one signal carrying the three forwards

  // A non-numeric value refuses the whole push, naming the sample; nothing of it is applied.
  const bad = await runCli(['kpi', 'push', '--file', '-'], {
    env: cliEnv,
    stdin: JSON.stringify([
      { ci: 'db-1', name: 'latency_ms', value: 999 },
      { ci: 'db-1', name: 'latency_ms', value: 'slow' },
    ]),
  });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr.trim()).toMatch(/^.*invalid samples\[1\]: value: expected a number or a status/);
  expect((await show('db-1')).kpis.latency_ms!.value).toBe(60);
});

it('a sample for a CI not known yet creates its run and keeps the value until the CI arrives', async () => {
  await cli('kpi', 'push', '--ci', 'db-new', '--name', 'latency_ms', '--value', '300');
  await eventually(async () => ((await show('db-new')).kpis.latency_ms ? true : undefined), 20000, 'db-new run');
  expect((await show('db-new')).measurements).toEqual([]);
  await cli('ci', 'upsert', '--id', 'db-new', '--class', 'db');
  const doc = await eventually(
    async () => {
      const d = await show('db-new');
      return d.measurements[0]?.state === 'warning' ? d : undefined;
    },
    20000,
    'db-new measured',
  );
  expect(doc.measurements[0]!.status).toBe('InProcess');
});

it('a definitions edit reaches a running CI; its exported history replays to the live result field by field', async () => {
  await cli('ci', 'upsert', '--id', 'web-9', '--class', 'web', '--status', 'up');
  await eventually(async () => ((await show('web-9')).measurements[0]?.state === 'up' ? true : undefined));
  await cli('ci', 'upsert', '--id', 'web-9', '--class', 'web', '--status', 'down');
  await eventually(async () => ((await show('web-9')).measurements[0]?.state === 'down' ? true : undefined));
  const file = path.join(dir(), `ci-defs-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(defs(99)));
  expect(await cli('definitions', 'apply', file)).toMatch(/definitions v2/);
  await eventually(async () => ((await show('web-9')).measurements[0]?.definitionVersion === '2' ? true : undefined), 20000, 'definitions reach web-9');
  expect((await show('web-9')).measurements[0]!.goal).toEqual({ availability: 99 });
  await cli('ci', 'upsert', '--id', 'web-9', '--class', 'web', '--status', 'up');
  // Retired: the measurement stops, so live and replay compare at rest.
  await cli('ci', 'upsert', '--id', 'web-9', '--class', 'retired', '--status', 'up');
  const live = await eventually(async () => {
    const d = await show('web-9');
    return d.measurements[0]?.status === 'Detached' ? d : undefined;
  });

  const out = path.join(dir(), `ci-export-${process.pid}`);
  expect(await cli('ci', 'export', 'web-9', '--out', out)).toMatch(/events of CI web-9/);
  const replayed = await runCli(['replay', '--definitions', path.join(out, 'definitions.json'), '--events', path.join(out, 'events.jsonl')]);
  expect(replayed.stderr).toBe('');
  const end = JSON.parse(replayed.stdout.trim().split('\n').at(-1)!) as { measurements: unknown[] };
  expect(end.measurements).toEqual(live.measurements);
});

it('a flapping CI continues as new and keeps every segment: the run keeps recent ones, the database the rest', async () => {
  const settings = config;
  await signalCi(client, settings, { id: 'flap-1', class: 'web', status: 'up' });
  await eventually(async () => ((await show('flap-1')).measurements[0] ? true : undefined));
  for (let i = 1; i <= 120; i++) {
    await signalCi(client, settings, { id: 'flap-1', class: 'web', status: i % 2 ? 'down' : 'up' });
    await new Promise((r) => setTimeout(r, 40));
  }
  await signalCi(client, settings, { id: 'flap-1', class: 'retired', status: 'up' });
  const doc = await eventually(
    async () => {
      const d = await show('flap-1');
      return d.measurements[0]?.status === 'Detached' ? d : undefined;
    },
    60000,
    'flap-1 retired',
  );
  const history = await client.workflow.getHandle(ciWorkflowId('flap-1')).fetchHistory();
  expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
  const m = doc.measurements[0]!;
  expect(m.earlierSegments).toBe(0);
  expect(m.segments.length).toBeGreaterThan(20); // more than a run keeps
  // Contiguous, alternating, and their business seconds are the measurement's totals.
  for (let i = 1; i < m.segments.length; i++) {
    expect(m.segments[i]!.startAt).toBe(m.segments[i - 1]!.endAt);
    expect(m.segments[i]!.state).not.toBe(m.segments[i - 1]!.state);
  }
  const sum = m.segments.reduce((a, x) => a + x.businessSeconds, 0);
  expect(Math.abs(sum - (m.upSeconds + m.downSeconds + m.unknownSeconds))).toBeLessThan(m.segments.length * 0.001 + 0.01);
  expect(m.downCount).toBe(m.segments.filter((x) => x.state === 'down' && x.businessSeconds > 0).length);
  expect((Date.parse(m.stoppedAt!) - Date.parse(m.startedAt)) / 1000).toBeCloseTo(m.upSeconds + m.downSeconds + m.unknownSeconds, 1);
});
