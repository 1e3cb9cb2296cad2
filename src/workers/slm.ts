/**
 * Fleet entry point of the `slm` worker: workflows and database activities. Needs TEMPORAL_ADDRESS
 * and DATABASE_URL; applies migrations at start (idempotent) and runs until SIGINT/SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureProblemSync } from '../client/sync';
import { loadConfig } from '../config';
import { migrateDb, openDb } from '../db/client';
import { registerSearchAttributes } from '../infra/searchAttributes';
import { installRuntime, onShutdownSignal, serveWorkerMetrics } from './runtime';
import { createSlmWorker } from './slmWorker';
import { slmWorkerSettingsFrom } from './wiring';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for the slm worker (host:port)');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the slm worker');
  installRuntime(config.LOG_LEVEL, config.SLM_LOG_FORMAT);
  const metrics = await serveWorkerMetrics(config, 'slm');
  const handle = openDb(config.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await migrateDb(handle.db);
    const worker = await createSlmWorker({ ...slmWorkerSettingsFrom(config), connection, db: handle.db });
    void onShutdownSignal().then(() => worker.shutdown());
    const running = worker.run();
    // The connector's poll loop runs once per namespace; every slm worker makes sure it exists, and
    // that the namespace has the search attributes its workflows set (a plain cluster has none).
    const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    try {
      const added = await registerSearchAttributes(clientConnection, config.TEMPORAL_NAMESPACE);
      if (added.length) process.stdout.write(`slm worker: registered search attributes ${added.join(', ')}\n`);
      await ensureProblemSync(new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE }), config);
    } finally {
      await clientConnection.close();
    }
    await running;
  } finally {
    await metrics?.close();
    await connection.close();
    await handle.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`slm worker: ${err.message}\n`);
  process.exit(1);
});
