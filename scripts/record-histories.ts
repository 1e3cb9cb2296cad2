/**
 * `npx tsx scripts/record-histories.ts DIR [LABEL]`: runs a few ticket lives on a throw-away stack
 * (dev server, PostgreSQL, the emulator, both workers) and writes each ticket workflow's history to
 * DIR/<LABEL>-<scenario>.history.pb. Run from a checkout of a release, it records the histories that the
 * workflows of that release leave behind; `test/workflow/replayCorpus.test.ts` replays them all with
 * the current code, so a release never breaks the tickets in flight.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { signalCi, signalKpis } from '../src/client/cis';
import { upsertTicket, upsertTicketChecked, type EngineSettings } from '../src/client/tickets';
import { loadConfig } from '../src/config';
import { migrateDb, openDb } from '../src/db/client';
import { applyDefinitions } from '../src/db/queries';
import { parseDefinitions } from '../src/domain/definitions';
import { startEmulator } from '../src/emulator/server';
import { startDevServer } from '../src/infra/devServer';
import { startThrowawayPostgres } from '../src/infra/postgres';
import { freePort } from '../src/infra/process';
import { ensureTemporalCli } from '../src/infra/temporalCli';
import { ensureProblemSync } from '../src/client/sync';
import { upsertTicketSignal } from '../src/workflows/messages';
import { PROBLEM_SYNC_WORKFLOW_ID } from '../src/workflows/problemSync';
import { createSlmWorker } from '../src/workers/slmWorker';
import { createTmfWorker } from '../src/workers/tmfWorker';
import { tmfClientFromConfig } from '../src/workers/wiring';

const DEFINITIONS = {
  // Compliance (release 0.6): a daily agreement on a target that allows 1 s down, with a breach milestone.
  agreements: [
    {
      id: 'rec-daily',
      reviewPeriods: ['daily'],
      compliance: { target: 99 },
      targets: [{ serviceTarget: 'web-tight', weight: 1 }],
      milestones: [{ name: 'breach', at: 'breached', actions: [{ notify: { webhook: 'WEBHOOK' } }] }],
    },
  ],
  serviceTargets: [
    { id: 'web-tight', type: 'availability', appliesTo: 'ci.class == "webx"', goal: { maxDownTime: '1s' } },
    // CIs (release 0.5): an availability target with a downFor milestone, a performance target whose KPI goes stale.
    {
      id: 'web-availability',
      type: 'availability',
      appliesTo: 'ci.class == "web"',
      goal: { availability: 99.5 },
      milestones: [{ name: 'down-1s', at: { downFor: '1s' }, actions: [{ notify: { webhook: 'WEBHOOK' } }] }],
    },
    {
      id: 'db-latency',
      type: 'performance',
      appliesTo: 'ci.class == "db"',
      warning: 'kpi.latency_ms > 200',
      alarm: 'kpi.latency_ms > 500',
      missingData: { after: '3s', treatAs: 'unknown' },
      goal: { availability: 99 },
    },
    {
      id: 'P1-resolution',
      appliesTo: 'ticket.priority == 1',
      start: 'ticket.state in ["New", "Assigned", "In Progress", "On Hold"]',
      stop: 'ticket.state in ["Resolved", "Closed"]',
      exclude: 'ticket.state == "On Hold"',
      goal: { duration: '6s' },
      group: 'resolution',
      milestones: [{ name: 'half', at: { percentOfGoal: 50 }, actions: [{ setField: { slaWarning: 'half of the goal used' } }] }],
    },
    {
      id: 'P2-resolution',
      appliesTo: 'ticket.priority == 2',
      stop: 'ticket.state in ["Resolved", "Closed"]',
      goal: { duration: '1h' },
      group: 'resolution',
    },
    {
      id: 'P3-response',
      appliesTo: 'ticket.priority == 3',
      stop: 'ticket.state in ["Assigned", "Resolved", "Closed"]',
      goal: { duration: '4s' },
      milestones: [
        { name: 'half', at: { percentOfGoal: 50 }, actions: [{ notify: { webhook: 'WEBHOOK' } }, { raiseAlarm: { perceivedSeverity: 'minor' } }] },
        { name: 'late', at: { afterDue: '1s' }, actions: [{ setField: { escalated: true } }, { notify: { webhook: 'WEBHOOK' } }] },
      ],
    },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const [outDir, label = 'release'] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: record-histories DIR [LABEL]');
  fs.mkdirSync(outDir, { recursive: true });
  const config = loadConfig({ SNOW_USERNAME: 'rec', SNOW_PASSWORD: 'rec-password' });
  const settings: EngineSettings = config;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-record-'));
  const cli = await ensureTemporalCli({ cacheDir: config.SLM_CACHE_DIR });
  // Runs continue as new after 200 events, so a burst of changes records a continued run.
  const dev = await startDevServer({ cli, dbFile: path.join(tmp, 'temporal.sqlite'), port: await freePort(), dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 } });
  const pg = await startThrowawayPostgres(await freePort());
  const emulator = await startEmulator({ port: 0, username: config.SNOW_USERNAME, password: config.SNOW_PASSWORD });
  const handle = openDb(pg.url);
  await migrateDb(handle.db);
  // Webhooks (milestone notices and the ticket source's write-backs) answer 204 on loopback.
  const hooks = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  await applyDefinitions(handle.db, parseDefinitions(JSON.parse(JSON.stringify(DEFINITIONS).replaceAll('WEBHOOK', `${hookUrl}/notify`))), 'record');
  const native = await NativeConnection.connect({ address: dev.address });
  const snow = tmfClientFromConfig(config, emulator.url);
  const actions = { webhookSecret: null, smtpUrl: null, smtpFrom: 'slm <slm@localhost>', sourceWebhook: `${hookUrl}/source`, timeoutMs: 5000 };
  const slm = await createSlmWorker({ connection: native, namespace: 'default', taskQueue: config.SLM_TASK_QUEUE, db: handle.db, actions });
  const tmf = await createTmfWorker({ connection: native, namespace: 'default', taskQueue: config.TMF_TASK_QUEUE, http: snow, maxConcurrent: 5 });
  const running = Promise.all([slm.run(), tmf.run()]);
  const connection = await Connection.connect({ address: dev.address });
  const client = new Client({ connection });
  try {
    const lives: Record<string, () => Promise<void>> = {
      // Created, paused, resumed, a milestone's setField, resolved: the problem created, PATCHed, closed.
      lifecycle: async () => {
        await upsertTicketChecked(client, settings, { id: 'L1', priority: 1, state: 'New', deviceIp: '10.0.0.1' });
        await sleep(1500);
        await upsertTicketChecked(client, settings, { id: 'L1', priority: 1, state: 'On Hold', deviceIp: '10.0.0.1' });
        await sleep(1000);
        await upsertTicketChecked(client, settings, { id: 'L1', priority: 1, state: 'In Progress' });
        await sleep(3000);
        await upsertTicketChecked(client, settings, { id: 'L1', priority: 1, state: 'Resolved' });
      },
      // A change the release refused (a text priority), then good ones by signal.
      refused: async () => {
        await upsertTicket(client, settings, { id: 'R1', priority: 2, state: 'New' });
        await sleep(3000); // idle: problem created, everything saved
        await client.workflow.getHandle('ticket:R1').signal(upsertTicketSignal, { id: 'R1', priority: 'urgent', state: 'New' });
        await sleep(1500);
      },
      // Detached by a priority change, attached again, past its due instant, closed.
      reattach: async () => {
        await upsertTicketChecked(client, settings, { id: 'D1', priority: 1, state: 'New' });
        await upsertTicketChecked(client, settings, { id: 'D1', priority: 3, state: 'New' });
        await upsertTicketChecked(client, settings, { id: 'D1', priority: 1, state: 'New' });
        await sleep(7000);
        await upsertTicketChecked(client, settings, { id: 'D1', priority: 1, state: 'Closed' });
      },
      // Missed: a notice and an alarm at half the goal, then past due a field set (written back) and a notice.
      missed: async () => {
        await upsertTicketChecked(client, settings, { id: 'M1', priority: 3, state: 'New' });
        await sleep(6500);
        await upsertTicketChecked(client, settings, { id: 'M1', priority: 3, state: 'Resolved' });
      },
      // Met quickly, resolved (the problem closed), reopened within the reopen window, resolved again.
      reopened: async () => {
        await upsertTicketChecked(client, settings, { id: 'O1', priority: 1, state: 'New' });
        await sleep(1000);
        await upsertTicketChecked(client, settings, { id: 'O1', priority: 1, state: 'Resolved' });
        await sleep(1500);
        await upsertTicketChecked(client, settings, { id: 'O1', priority: 1, state: 'In Progress' });
        await sleep(1000);
        await upsertTicketChecked(client, settings, { id: 'O1', priority: 1, state: 'Closed' });
      },
      // SNOW puts the problem on hold on its side; the poll loop forwards it to the ticket.
      remote: async () => {
        await ensureProblemSync(client, { ...config, SNOW_SYNC_FREQUENCY: 10 });
        await upsertTicketChecked(client, settings, { id: 'S1', priority: 2, state: 'New' });
        await sleep(2000);
        const problem = [...emulator.problems.values()].find((p) => p.correlationId === 'ticket:S1');
        if (!problem) throw new Error('no problem for S1');
        await snow.patchProblem(String(problem.id), { status: 'held' });
        await sleep(12000);
        await upsertTicketChecked(client, settings, { id: 'S1', priority: 2, state: 'Resolved' });
      },
      // Hundreds of changes by signal: the run continues as new (both runs are kept).
      continued: async () => {
        await upsertTicketChecked(client, settings, { id: 'C1', priority: 2, state: 'New', seq: 0 });
        const h = client.workflow.getHandle('ticket:C1');
        for (let i = 1; i <= 300; i += 50) {
          await Promise.all(
            Array.from({ length: 50 }, (_, k) => h.signal(upsertTicketSignal, { id: 'C1', priority: 2, state: (i + k) % 2 ? 'In Progress' : 'Assigned', seq: i + k })),
          );
          await sleep(300);
        }
        await upsertTicketChecked(client, settings, { id: 'C1', priority: 2, state: 'Resolved', seq: 400 });
        await sleep(1500); // continued as new: the next run applies the last change
        await upsertTicketChecked(client, settings, { id: 'C1', priority: 2, state: 'Closed', seq: 401 });
      },
    };
    lives['ci-availability'] = async () => {
      await signalCi(client, settings, { id: 'W1', class: 'web', status: 'up' });
      await sleep(1000);
      await signalCi(client, settings, { id: 'W1', class: 'web', status: 'down' });
      await sleep(2500); // the milestone fires, its webhook posts
      await signalCi(client, settings, { id: 'W1', class: 'web', status: 'up' });
      await sleep(1000);
      await signalCi(client, settings, { id: 'W1', class: 'retired', status: 'up' });
    };
    lives['ci-performance'] = async () => {
      await signalCi(client, settings, { id: 'B1', class: 'db' });
      await sleep(1000);
      const at = Date.now();
      await signalKpis(client, settings, 'B1', [
        { at, readings: { latency_ms: { value: 100, at } } },
        { at: at + 1, readings: { latency_ms: { value: 700, at: at + 1 } } },
      ]);
      await sleep(4500); // the value goes stale: unknown
      const later = Date.now();
      await signalKpis(client, settings, 'B1', [{ at: later, readings: { latency_ms: { value: 300, at: later } } }]);
      await sleep(1000);
    };
    lives['compliance'] = async () => {
      await signalCi(client, settings, { id: 'X1', class: 'webx', status: 'up' });
      await sleep(1500);
      await signalCi(client, settings, { id: 'X1', class: 'webx', status: 'down' });
      await sleep(3000); // down past 1 s: the forecast timer fires the breach milestone, its webhook posts
      await signalCi(client, settings, { id: 'X1', class: 'webx', status: 'up' });
      await sleep(1500);
    };
    const only = process.env.RECORD_ONLY?.split(',');
    for (const [name, life] of Object.entries(lives)) if (!only || only.includes(name)) await life();
    await sleep(3000); // the last problem PATCHes and saves
    const recorded: [string, string, string?][] = [
      ['lifecycle', 'ticket:L1'],
      ['refused', 'ticket:R1'],
      ['reattach', 'ticket:D1'],
      ['missed', 'ticket:M1'],
      ['reopened', 'ticket:O1'],
      ['remote', 'ticket:S1'],
      ['problem-sync', PROBLEM_SYNC_WORKFLOW_ID],
      ['continued', 'ticket:C1'],
      ['ci-availability', 'ci:W1'],
      ['ci-performance', 'ci:B1'],
      ['compliance', 'compliance'],
    ];
    // The first run of the continued ticket too: the one that ended by continuing as new.
    const c1 = await client.workflow
      .getHandle('ticket:C1')
      .fetchHistory()
      .catch(() => null);
    const firstRun = c1?.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (firstRun) recorded.push(['continued-first-run', 'ticket:C1', firstRun]);
    for (const [name, workflowId, runId] of recorded) {
      if (only && !only.some((o) => name.startsWith(o))) continue;
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      // The protobuf encoding, as the server stores it (exact: no JSON round trip of payloads or longs).
      fs.writeFileSync(path.join(outDir, `${label}-${name}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
      process.stdout.write(`${label}-${name}: ${history.events?.length ?? 0} events\n`);
    }
  } finally {
    slm.shutdown();
    tmf.shutdown();
    await running;
    await connection.close();
    await native.close();
    await snow.close();
    await new Promise((r) => hooks.close(r));
    await handle.close();
    await emulator.close();
    await dev.stop();
    await pg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`record-histories: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
