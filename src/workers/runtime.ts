/**
 * Process-wide set-up of a worker process: the SDK runtime (logging, metrics) and graceful shutdown
 * on signals.
 */
import { DefaultLogger, MetricsBuffer, Runtime, type LogEntry } from '@temporalio/worker';
import type { Config } from '../config';
import { bridgeSdkMetrics, serveMetrics } from '../telemetry/metrics';

let runtimeInstalled = false;

/**
 * One JSON object per line (SLM_LOG_FORMAT=json): time, level, message, and the entry's fields — the
 * SDK adds workflowId, runId and workflowType to workflow logs, ours add ticketId.
 */
export function jsonLogLine(entry: LogEntry): string {
  const { timestampNanos, level, message, meta } = entry;
  const fields = meta && typeof meta === 'object' ? meta : {};
  return `${JSON.stringify({ time: new Date(Number(timestampNanos / 1_000_000n)).toISOString(), level, msg: message, ...fields })}\n`;
}

/**
 * Routes SDK and workflow logs once per process (JSON lines with SLM_LOG_FORMAT=json), and feeds the
 * SDK's runtime metrics into the process's registry (served at /metrics); signals are handled by our
 * entry points.
 */
export function installRuntime(level: Config['LOG_LEVEL'], format: Config['SLM_LOG_FORMAT'] = 'text'): void {
  if (runtimeInstalled) return;
  const logger = format === 'json' ? new DefaultLogger(level, (entry) => void process.stdout.write(jsonLogLine(entry))) : new DefaultLogger(level);
  const buffer = new MetricsBuffer({ maxBufferSize: 100_000, useSecondsForDurations: true });
  Runtime.install({ logger, shutdownSignals: [], telemetryOptions: { metrics: { buffer } } });
  bridgeSdkMetrics(buffer);
  runtimeInstalled = true;
}

/** A fleet worker's /metrics on SLM_METRICS_PORT (none when unset). */
export async function serveWorkerMetrics(config: Config, role: string): Promise<{ close(): Promise<void> } | null> {
  if (config.SLM_METRICS_PORT === undefined) return null;
  const server = await serveMetrics('0.0.0.0', config.SLM_METRICS_PORT);
  process.stdout.write(`${role} worker: metrics on :${server.port}/metrics\n`);
  return server;
}

/**
 * Resolves on the first SIGINT/SIGTERM. One Ctrl-C reaches this process several times (the terminal
 * signals the whole process group, and npm and tsx relay it), so repeats within two seconds are the
 * same request; a signal after that forces: `force` runs (synchronous clean-up), then the process exits.
 */
export function onShutdownSignal(force?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first = 0;
    const handler = (sig: NodeJS.Signals) => {
      const now = Date.now();
      if (first === 0) {
        first = now;
        resolve(sig);
      } else if (now - first >= 2000) {
        force?.();
        process.exit(130);
      }
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
