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
  /**
   * SQLite commits synced to disk before they count (`synchronous=FULL`), the default: a power loss
   * then loses no acknowledged workflow state. Throw-away servers (tests) may turn it off.
   */
  durable?: boolean;
  /** Register the project's search attributes at launch (default); false gives a plain server. */
  searchAttributes?: boolean;
  /**
   * Where the server's PID is kept. A server a dead run left behind (it runs in its own process
   * group, so it outlives a killed parent) is found through it and stopped before this one starts.
   */
  pidFile?: string;
  log?: (msg: string) => void;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  if (opts.pidFile) {
    const stale = await reclaim(opts.pidFile, opts.dbFile);
    if (stale) opts.log?.(`stopped the Temporal dev server an earlier run left running (pid ${stale})`);
  }
  if (await isPortOpen(opts.port)) throw new InfraError(`port ${opts.port} is taken: another Temporal server runs there? Set TEMPORAL_ADDRESS to use it, or TEMPORAL_DEV_PORT`);
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--db-filename', opts.dbFile, '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push('--namespace', opts.namespace ?? 'default');
  // WAL journaling: fewer fsyncs per write than the default rollback journal. With synchronous=FULL
  // each commit's WAL frames are synced before it is acknowledged, so nothing a worker was told is
  // saved can vanish on power loss (NORMAL could lose the last commits: throw-away servers only).
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', `synchronous=${opts.durable === false ? 'normal' : 'full'}`);
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.searchAttributes !== false) for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
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
  if (opts.pidFile && child.pid) fs.writeFileSync(opts.pidFile, `${child.pid}\n`);
  child.once('exit', (code) => {
    proc.exited = code ?? -1;
    process.off('exit', onParentExit);
    if (opts.pidFile) fs.rmSync(opts.pidFile, { force: true });
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

/**
 * Stops the dev server recorded in `pidFile` if it still runs and is ours (a `temporal server
 * start-dev` on the same database file): a run that was killed could not stop it.
 */
async function reclaim(pidFile: string, dbFile: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) {
    fs.rmSync(pidFile, { force: true });
    return null;
  }
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    // not Linux: trust the PID file only if the process looks like ours below
  }
  if (cmdline && !(cmdline.includes('start-dev') && cmdline.includes(dbFile))) {
    fs.rmSync(pidFile, { force: true });
    return null; // the PID was reused by another program
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  fs.rmSync(pidFile, { force: true });
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
