/** Process-wide set-up of a worker process: the SDK runtime (logging) and graceful shutdown on signals. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Config } from '../config';

let runtimeInstalled = false;

/** Routes SDK and workflow logs once per process; signals are handled by our entry points. */
export function installRuntime(level: Config['LOG_LEVEL']): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger(level), shutdownSignals: [] });
  runtimeInstalled = true;
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
