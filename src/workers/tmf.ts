/**
 * Fleet entry point of the `tmf` worker: outbound HTTP to SNOW, at most TMF_MAX_CONCURRENT (default 5)
 * requests at once across every tmf worker of the fleet (slots leased in PostgreSQL). Needs
 * TEMPORAL_ADDRESS, SNOW_BASE_URL and DATABASE_URL (or TMF_CONCURRENCY_SCOPE=process).
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config';
import { FleetSlots } from '../clients/snowSlots';
import { openDb } from '../db/client';
import { installRuntime, onShutdownSignal, serveWorkerMetrics } from './runtime';
import { createTmfWorker } from './tmfWorker';
import { snowGateFromConfig, tmfClientFromConfig } from './wiring';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for the tmf worker (host:port)');
  if (!config.SNOW_BASE_URL) throw new Error('SNOW_BASE_URL is required for the tmf worker');
  installRuntime(config.LOG_LEVEL, config.SLM_LOG_FORMAT);
  const metrics = await serveWorkerMetrics(config, 'tmf');
  // The SNOW slots are shared by every tmf worker through the database (TMF_CONCURRENCY_SCOPE=fleet).
  const handle = config.TMF_CONCURRENCY_SCOPE === 'fleet' && config.DATABASE_URL ? openDb(config.DATABASE_URL, { max: 3 }) : null;
  const gate = snowGateFromConfig(config, handle?.db ?? null);
  const http = tmfClientFromConfig(config, config.SNOW_BASE_URL, gate);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await createTmfWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TMF_TASK_QUEUE,
      http,
      maxConcurrent: config.TMF_MAX_CONCURRENT,
    });
    void onShutdownSignal().then(() => worker.shutdown());
    process.stdout.write(
      gate instanceof FleetSlots
        ? `tmf worker: holder ${gate.holder}; at most ${config.TMF_MAX_CONCURRENT} requests to SNOW at once across the fleet (lease ${config.TMF_SLOT_LEASE} s)\n`
        : `tmf worker: at most ${config.TMF_MAX_CONCURRENT} requests to SNOW at once from this process\n`,
    );
    await worker.run();
  } finally {
    await metrics?.close();
    await connection.close();
    await http.close();
    await gate.close();
    await handle?.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`tmf worker: ${err.message}\n`);
  process.exit(1);
});
