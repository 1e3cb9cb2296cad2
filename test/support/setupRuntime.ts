// Keep SDK logs to warnings during tests. The native runtime outlives each suite's module registry.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
} catch {
  // already installed by an earlier suite in this process
}
