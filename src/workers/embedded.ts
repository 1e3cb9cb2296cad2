/**
 * Embedded mode (`npm start`): everything on one machine in one process tree — the Temporal dev server
 * and Web UI (unless TEMPORAL_ADDRESS is set), PostgreSQL under .data/ (unless DATABASE_URL is set),
 * the SNOW emulator (unless SNOW_BASE_URL is set), both workers, and the example definitions.
 * Ctrl-C stops everything it started; state under .data/ is reused by the next start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ensureProblemSync } from '../client/sync';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, type Config } from '../config';
import { migrateDb, openDb, type DbHandle } from '../db/client';
import { applyDefinitions, latestDefinitions } from '../db/queries';
import { notifyDefinitionsChanged } from '../client/tickets';
import { startEmulator, type Emulator } from '../emulator/server';
import { readDefinitionsFile } from '../infra/files';
import { startDevServer, type DevServer } from '../infra/devServer';
import { startPostgres, type PostgresCluster } from '../infra/postgres';
import { removeRuntimeInfo, runtimeState, writeRuntimeInfo } from '../infra/runtimeInfo';
import { registerSearchAttributes } from '../infra/searchAttributes';
import { ensureTemporalCli } from '../infra/temporalCli';
import { loadTokens } from '../api/auth';
import { apiPorts, startApi } from '../api/start';
import { installRuntime, onShutdownSignal } from './runtime';
import { createSlmWorker } from './slmWorker';
import { createTmfWorker } from './tmfWorker';
import { slmWorkerSettingsFrom, snowGateFromConfig, tmfClientFromConfig } from './wiring';

const say = (msg: string) => process.stdout.write(`[slm] ${msg}\n`);

export interface EmbeddedStack {
  temporalAddress: string;
  uiUrl: string | null;
  databaseUrl: string;
  snowBaseUrl: string;
  emulator: Emulator | null;
  /** The HTTP API (null with SLM_API_START=false) and the development token it made, if it made one. */
  api: { url: string; devToken: string | null } | null;
  /** Resolves when both workers have stopped. */
  running: Promise<void>;
  /** Shuts the workers down gracefully, then stops what was started, in reverse order. */
  stop(): Promise<void>;
  /** Synchronous last resort when the user insists: kills the dev server, stops PostgreSQL. */
  forceStop(): void;
}

/** Starts the whole stack; used by `npm start` and by the benchmarks. */
export async function startEmbedded(config: Config, log: (msg: string) => void = say): Promise<EmbeddedStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const forced: (() => void)[] = [];
  const unwind = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: Error) => log(`shutdown step failed: ${err.message}`));
    cleanups.length = 0;
  };
  try {
    fs.mkdirSync(config.SLM_DATA_DIR, { recursive: true });
    const live = runtimeState(config.SLM_DATA_DIR);
    if (live.state === 'running')
      throw new Error(`npm start already runs on ${config.SLM_DATA_DIR} (pid ${live.info.pid}); stop it first (Ctrl-C in its terminal, or kill ${live.info.pid})`);
    if (live.state === 'stale') log(`the last run (pid ${live.pid}) did not stop cleanly; reclaiming what it left running`);

    let temporalAddress = config.TEMPORAL_ADDRESS;
    let uiUrl: string | null = null;
    if (temporalAddress) {
      const conn = await Connection.connect({ address: temporalAddress });
      try {
        const added = await registerSearchAttributes(conn, config.TEMPORAL_NAMESPACE);
        if (added.length) log(`registered search attributes: ${added.join(', ')}`);
      } finally {
        await conn.close();
      }
    } else {
      const cli = await ensureTemporalCli({ explicit: config.TEMPORAL_CLI, cacheDir: config.SLM_CACHE_DIR, log });
      const dev: DevServer = await startDevServer({
        cli,
        dbFile: path.join(config.SLM_DATA_DIR, 'temporal.sqlite'),
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        logFile: path.join(config.SLM_DATA_DIR, 'temporal.log'),
        pidFile: path.join(config.SLM_DATA_DIR, 'temporal.pid'),
        log,
      });
      cleanups.push(() => dev.stop());
      forced.push(() => dev.kill());
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
    }

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const pg: PostgresCluster = await startPostgres({
        dataDir: path.join(config.SLM_DATA_DIR, 'postgres'),
        port: config.DATABASE_EMBEDDED_PORT,
        log,
      });
      cleanups.push(() => pg.stop());
      forced.push(() => pg.stopSync());
      databaseUrl = pg.url;
    }
    const handle: DbHandle = openDb(databaseUrl);
    cleanups.push(() => handle.close());
    await migrateDb(handle.db);
    // The file is stored only into an empty store (or when asked): what `slm definitions apply`
    // stored must survive restarts, and running tickets are never moved to other definitions silently.
    const stored = await latestDefinitions(handle.db);
    const fileName = path.relative(process.cwd(), config.SLM_DEFINITIONS) || config.SLM_DEFINITIONS;
    let newVersion: number | null = null;
    if (!stored || config.SLM_DEFINITIONS_APPLY === 'always') {
      const defs = readDefinitionsFile(config.SLM_DEFINITIONS);
      const applied = await applyDefinitions(handle.db, defs, config.SLM_DEFINITIONS);
      if (applied.changed && stored) newVersion = applied.version;
      log(`definitions v${applied.version} (${defs.serviceTargets.length} service targets${applied.changed ? ', new' : ', unchanged'}) from ${fileName}`);
    } else {
      log(
        `definitions v${stored.version} (${stored.body.serviceTargets?.length ?? 0} service targets) from the store; ${fileName} not applied (SLM_DEFINITIONS_APPLY=always would apply it)`,
      );
    }

    let emulator: Emulator | null = null;
    let snowBaseUrl = config.SNOW_BASE_URL;
    if (!snowBaseUrl) {
      if (!config.EMULATOR_START) throw new Error('SNOW_BASE_URL is unset and EMULATOR_START=false: nowhere to send service problems');
      emulator = await startEmulator({
        host: config.EMULATOR_HOST,
        port: config.EMULATOR_PORT,
        username: config.SNOW_USERNAME,
        password: config.SNOW_PASSWORD,
        problemPath: config.SNOW_PROBLEM_PATH,
        alarmPath: config.SNOW_ALARM_PATH,
        stateFile: path.join(config.SLM_DATA_DIR, 'emulator.json'),
      });
      const emu = emulator;
      cleanups.push(() => emu.close());
      snowBaseUrl = emulator.url;
    }

    const connection = await NativeConnection.connect({ address: temporalAddress });
    cleanups.push(() => connection.close());
    const gate = snowGateFromConfig(config, handle.db);
    cleanups.push(() => gate.close());
    const http = tmfClientFromConfig(config, snowBaseUrl, gate);
    cleanups.push(() => http.close());
    const slm = await createSlmWorker({ ...slmWorkerSettingsFrom(config), connection, db: handle.db });
    const tmf = await createTmfWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TMF_TASK_QUEUE,
      http,
      maxConcurrent: config.TMF_MAX_CONCURRENT,
    });
    const running = Promise.all([slm.run(), tmf.run()]).then(() => undefined);

    const clientConnection = await Connection.connect({ address: temporalAddress });
    cleanups.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
    await ensureProblemSync(client, config);
    if (newVersion !== null) {
      const told = await notifyDefinitionsChanged(client, String(newVersion));
      log(`definitions v${newVersion}: ${told.tickets} running tickets and ${told.cis} CIs told`);
    }

    let api: EmbeddedStack['api'] = null;
    if (config.SLM_API_START) {
      const { tokens, devToken } = loadTokens(config, { devToken: true });
      const running = await startApi({ config, ports: apiPorts(client, handle.db, config), tokens, temporalUiUrl: uiUrl });
      cleanups.push(() => running.close());
      api = { url: running.url, devToken };
    }

    writeRuntimeInfo(config.SLM_DATA_DIR, { temporalAddress, namespace: config.TEMPORAL_NAMESPACE, databaseUrl, uiUrl, snowBaseUrl });
    cleanups.unshift(async () => removeRuntimeInfo(config.SLM_DATA_DIR));

    return {
      temporalAddress,
      uiUrl,
      databaseUrl,
      snowBaseUrl,
      emulator,
      api,
      running,
      stop: async () => {
        if (slm.getState() === 'RUNNING') slm.shutdown();
        if (tmf.getState() === 'RUNNING') tmf.shutdown();
        await running.catch((err: Error) => log(`worker stopped with an error: ${err.message}`));
        await unwind();
      },
      forceStop: () => {
        removeRuntimeInfo(config.SLM_DATA_DIR);
        for (const fn of forced.reverse()) fn();
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  installRuntime(config.LOG_LEVEL, config.SLM_LOG_FORMAT);
  const started = Date.now();
  const stack = await startEmbedded(config);
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (stack.uiUrl) say(`Temporal Web UI   ${stack.uiUrl}`);
  say(`Temporal          ${stack.temporalAddress} (namespace ${config.TEMPORAL_NAMESPACE})`);
  say(`database          ${stack.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`);
  say(`SNOW ${stack.emulator ? 'emulator ' : 'endpoint '}    ${stack.snowBaseUrl}${stack.emulator ? '  (inspect: /_emulator/problems, /_emulator/requests)' : ''}`);
  if (stack.api) {
    say(`HTTP API          ${stack.api.url}  (OpenAPI: ${stack.api.url}/openapi.json, metrics: ${stack.api.url}/metrics)`);
    say(`dashboard         ${stack.api.url}/${stack.api.devToken ? `#token=${stack.api.devToken}` : ''}  (sign in with an API token)`);
    if (stack.api.devToken)
      say(
        `API token         ${stack.api.devToken}  (development token, kept in ${path.join(config.SLM_DATA_DIR, 'api-token')}; set SLM_API_TOKEN or SLM_API_TOKENS_FILE for real ones)`,
      );
  }
  say('send a ticket:    ./slm ticket upsert --id T1 --priority 1 --state New');
  say('look at it:       ./slm ticket show T1');
  say('stop:             Ctrl-C');

  const signal = await Promise.race([
    onShutdownSignal(() => {
      say('forced: killing the dev server and stopping PostgreSQL now');
      stack.forceStop();
    }),
    stack.running.then(() => null),
  ]);
  say(signal ? `${signal}: stopping workers, then the servers… (Ctrl-C again to force)` : 'workers stopped; shutting down…');
  await stack.stop();
  say('stopped');
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`slm: ${err.message}\n`);
    process.exit(1);
  });
}
