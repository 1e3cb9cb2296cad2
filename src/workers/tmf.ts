/**
 * Fleet entry point of the `tmf` worker: outbound HTTP to SNOW, TMF_MAX_CONCURRENT (default 5)
 * activities at once per worker process. Needs TEMPORAL_ADDRESS and SNOW_BASE_URL.
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createTmfWorker, installRuntime, onShutdownSignal, tmfClientFromConfig } from './workers';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for the tmf worker (host:port)');
  if (!config.SNOW_BASE_URL) throw new Error('SNOW_BASE_URL is required for the tmf worker');
  installRuntime(config.LOG_LEVEL);
  const http = tmfClientFromConfig(config, config.SNOW_BASE_URL);
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
    await worker.run();
  } finally {
    await connection.close();
    await http.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`tmf worker: ${err.message}\n`);
  process.exit(1);
});
