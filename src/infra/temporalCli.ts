/**
 * Finds or builds the `temporal` CLI (dev server + Web UI). Order: TEMPORAL_CLI, PATH, the per-user
 * cache, else `go install` at v1.5.1 into the cache (DESIGN §5: later tags carry a `replace`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InfraError, run, which } from './process';

export const TEMPORAL_CLI_VERSION = '1.5.1';

export async function ensureTemporalCli(opts: { explicit?: string; cacheDir: string; log?: (msg: string) => void }): Promise<string> {
  if (opts.explicit) {
    if (!fs.existsSync(opts.explicit)) throw new InfraError(`TEMPORAL_CLI: no file at ${opts.explicit}`);
    return opts.explicit;
  }
  const onPath = await which('temporal');
  if (onPath) return onPath;
  const binDir = path.join(opts.cacheDir, `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const bin = path.join(binDir, 'temporal');
  if (fs.existsSync(bin)) return bin;
  if (!(await which('go'))) throw new InfraError('the temporal CLI is not installed and Go is missing to build it: install Go ≥ 1.25 or set TEMPORAL_CLI');
  opts.log?.(`building the Temporal CLI v${TEMPORAL_CLI_VERSION} with go install (a few minutes the first time)…`);
  fs.mkdirSync(binDir, { recursive: true });
  const env = { ...process.env, GOBIN: binDir, CGO_ENABLED: '0', GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local' };
  const args = [
    'install',
    '-ldflags',
    `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
  ];
  try {
    await run('go', args, { env, cwd: binDir });
  } catch (err) {
    if (!/checksum|sum\.golang|verifying/i.test((err as Error).message)) throw err;
    opts.log?.('checksum database unreachable; retrying with GOSUMDB=off');
    await run('go', args, { env: { ...env, GOSUMDB: 'off' }, cwd: binDir });
  }
  if (!fs.existsSync(bin)) throw new InfraError(`go install finished but ${bin} is missing`);
  return bin;
}
