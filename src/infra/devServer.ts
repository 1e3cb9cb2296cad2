/**
 * The local Temporal dev server of embedded mode and of the integration tests: `temporal server
 * start-dev` with a SQLite file (state survives restarts), the Web UI, and the project's search
 * attributes registered at launch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/searchAttributes';
import { InfraError, isPortOpen } from './process';

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
  /** Synchronous last resort (process exit): kills the server at once. */
  kill(): void;
}

export interface DevServerOptions {
  cli: string;
  dbFile: string;
  port: number;
  uiPort?: number | null;
  namespace?: string;
  logFile?: string;
  /** Dynamic config overrides (`--dynamic-config-value key=value`), e.g. for tests. */
  dynamicConfig?: Record<string, string | number>;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  if (await isPortOpen(opts.port)) throw new InfraError(`port ${opts.port} is taken: another Temporal server runs there? Set TEMPORAL_ADDRESS to use it, or TEMPORAL_DEV_PORT`);
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--db-filename', opts.dbFile, '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push('--namespace', opts.namespace ?? 'default');
  // WAL journaling: far fewer fsyncs per write than the default rollback journal, same durability
  // against a process crash (synchronous=NORMAL can lose the last commits only on power loss).
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${value}`);
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // Its own process group: a Ctrl-C in the terminal must not stop the server before our workers have
  // drained; we stop it ourselves, last.
  const child: ChildProcess = spawn(opts.cli, args, { stdio: ['ignore', out, out], detached: true });
  const proc = { exited: null as number | null };
  // Detached, it would outlive a crashing parent: kill it on any exit of ours.
  const onParentExit = () => {
    if (proc.exited === null) child.kill('SIGKILL');
  };
  process.on('exit', onParentExit);
  child.once('exit', (code) => {
    proc.exited = code ?? -1;
    process.off('exit', onParentExit);
  });

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exited !== null) throw new InfraError(`temporal dev server exited with ${proc.exited} at start${opts.logFile ? ` (see ${opts.logFile})` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new InfraError('temporal dev server did not become ready within 60 s');
    }
    if (await isPortOpen(opts.port)) {
      try {
        const conn = await Connection.connect({ address, connectTimeout: 2000 });
        try {
          await conn.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' });
          break;
        } finally {
          await conn.close();
        }
      } catch {
        // not ready yet
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exited !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
    kill: () => {
      if (proc.exited === null) child.kill('SIGKILL');
    },
  };
}
