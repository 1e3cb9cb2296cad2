/**
 * `npx tsx scripts/record-histories.ts DIR [LABEL]`: runs a few ticket lives on a throw-away stack
 * (dev server, PostgreSQL, the emulator, both workers) and writes each ticket workflow's history to
 * DIR/<LABEL>-<scenario>.history.pb. Run from a checkout of a release, it records the histories that the
 * workflows of that release leave behind; `test/workflow/replayCorpus.test.ts` replays them all with
 * the current code, so a release never breaks the tickets in flight.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { TmfClient } from '../src/activities/tmfClient';
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
import { upsertTicketSignal } from '../src/workflows/messages';
import { createSlmWorker, createTmfWorker } from '../src/workers/workers';

const DEFINITIONS = {
  serviceTargets: [
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
  const dev = await startDevServer({ cli, dbFile: path.join(tmp, 'temporal.sqlite'), port: await freePort() });
  const pg = await startThrowawayPostgres(await freePort());
  const emulator = await startEmulator({ port: 0, username: config.SNOW_USERNAME, password: config.SNOW_PASSWORD });
  const handle = openDb(pg.url);
  await migrateDb(handle.db);
  await applyDefinitions(handle.db, parseDefinitions(DEFINITIONS), 'record');
  const native = await NativeConnection.connect({ address: dev.address });
  const http = new TmfClient({ baseUrl: emulator.url, problemPath: config.SNOW_PROBLEM_PATH, alarmPath: config.SNOW_ALARM_PATH, username: config.SNOW_USERNAME, password: config.SNOW_PASSWORD, timeoutMs: 10000, connections: 5 });
  const slm = await createSlmWorker({ connection: native, namespace: 'default', taskQueue: config.SLM_TASK_QUEUE, db: handle.db });
  const tmf = await createTmfWorker({ connection: native, namespace: 'default', taskQueue: config.TMF_TASK_QUEUE, http, maxConcurrent: 5 });
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
    };
    for (const life of Object.values(lives)) await life();
    await sleep(3000); // the last problem PATCHes and saves
    for (const [name, id] of [['lifecycle', 'L1'], ['refused', 'R1'], ['reattach', 'D1']] as const) {
      const history = await client.workflow.getHandle(`ticket:${id}`).fetchHistory();
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
    await http.close();
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
