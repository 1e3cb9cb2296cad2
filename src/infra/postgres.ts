/**
 * A PostgreSQL cluster the project runs itself: the embedded database of `npm start` (under .data/)
 * and the throw-away cluster of `npm test`. Binaries come from Debian's `postgresql` package, installed
 * on first use when missing. `initdb` and `postgres` refuse to run as root, so as root they run as the
 * `postgres` user on a folder that user owns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { InfraError, isPortOpen, run, waitForPort, which } from './process';

export interface PostgresCluster {
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (fast shutdown); the data stays. */
  stop(): Promise<void>;
  /** The same, blocking: for a forced exit. */
  stopSync(): void;
}

const DB_NAME = 'slm';
const DB_USER = 'slm';

function findBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

/** The folder holding initdb/pg_ctl, installing Debian's postgresql package if it is missing. */
export async function ensurePostgresBinaries(log?: (msg: string) => void): Promise<string> {
  const found = findBinDir();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !(await which('apt-get'))) {
    throw new InfraError('PostgreSQL server binaries are missing: install the "postgresql" package, or set DATABASE_URL');
  }
  log?.('installing PostgreSQL from Debian packages (apt-get install postgresql)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-q'], { env });
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'postgresql'], { env });
  const installed = findBinDir();
  if (!installed) throw new InfraError('apt-get installed postgresql but no initdb was found under /usr/lib/postgresql');
  return installed;
}

function asOwner(isRoot: boolean, bin: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/**
 * Starts (initialising on first use) a cluster in `dataDir` listening on 127.0.0.1:`port`, TCP only,
 * trust authentication for the local `slm` role.
 *
 * `durable` (the default) keeps PostgreSQL's crash-safe defaults: fsync on, and an initdb that syncs
 * its files, so a power loss leaves a cluster that recovers from its WAL. Only throw-away clusters
 * (tests) turn them off. A server left running on that folder by a run that died (PostgreSQL
 * daemonises, so it outlives a killed parent) is stopped first and started again with these settings.
 */
export async function startPostgres(opts: { dataDir: string; port: number; durable?: boolean; log?: (msg: string) => void }): Promise<PostgresCluster> {
  const durable = opts.durable ?? true;
  const binDir = await ensurePostgresBinaries(opts.log);
  const isRoot = process.getuid?.() === 0;
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const chownToPostgres = async (p: string) => {
    if (isRoot) await run('chown', ['-R', 'postgres:postgres', p]);
  };

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    await chownToPostgres(dataDir);
    const [cmd, args] = asOwner(isRoot, path.join(binDir, 'initdb'), ['-D', dataDir, '-U', DB_USER, '--auth=trust', '-E', 'UTF8', '--locale=C', ...(durable ? [] : ['--no-sync'])]);
    await run(cmd, args);
  }
  const logFile = path.join(dataDir, 'server.log');
  const pgCtl = (args: string[]) => {
    const [cmd, full] = asOwner(isRoot, path.join(binDir, 'pg_ctl'), args);
    return run(cmd, full);
  };

  const running = await pgCtl(['status', '-D', dataDir]).then(
    () => true,
    () => false,
  );
  if (running) {
    // Left by a run that died: its port and settings may not be ours. A fast shutdown is clean.
    opts.log?.(`stopping the PostgreSQL server an earlier run left running on ${dataDir}`);
    await pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
  }
  if (await isPortOpen(opts.port)) throw new InfraError(`port ${opts.port} is taken by another program; set DATABASE_EMBEDDED_PORT or DATABASE_URL`);
  const serverOpts = `-p ${opts.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200${durable ? '' : ' -c fsync=off -c synchronous_commit=off'}`;
  await pgCtl(['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOpts]);
  await waitForPort(opts.port, 30000, 'PostgreSQL');

  const admin = new Client({ host: '127.0.0.1', port: opts.port, user: DB_USER, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://${DB_USER}@127.0.0.1:${opts.port}/${DB_NAME}`,
    port: opts.port,
    dataDir,
    stop: async () => {
      await pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w']).catch(() => undefined);
    },
    stopSync: () => {
      const [cmd, args] = asOwner(isRoot, path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate']);
      spawnSync(cmd, args, { stdio: 'ignore' });
    },
  };
}

/**
 * A throw-away cluster in a fresh temp folder; `stop` also removes the folder. Not durable unless
 * asked (tests): nothing in it outlives the run. Benchmarks ask, to measure production settings.
 */
export async function startThrowawayPostgres(port: number, opts: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-pg-'));
  fs.chmodSync(dir, 0o755);
  const cluster = await startPostgres({ dataDir: path.join(dir, 'data'), port, durable: opts.durable ?? false });
  return {
    ...cluster,
    stop: async () => {
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    stopSync: () => {
      cluster.stopSync();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
