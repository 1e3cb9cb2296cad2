/**
 * tmf worker processes as a fleet runs them (`src/workers/tmf.ts`, each its own process group, so a
 * kill takes tsx's node child too): for the fleet test and the fleet benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface TmfProcess {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL to the whole group; resolves once the group is gone, with the signal the leader died of. */
  kill(): Promise<NodeJS.Signals | null>;
  /** SIGTERM (graceful), then waits. */
  stop(): Promise<void>;
}

export function startTmfProcess(vars: Record<string, string>): TmfProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'workers', 'tmf.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'ERROR', ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  const lastResort = () => signalGroup(child, 'SIGKILL');
  process.once('exit', lastResort);
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) signalGroup(child, signal);
    const died = await exited;
    // The group may outlive its leader for a moment (tsx's node child): wait until none of it is left.
    for (let i = 0; i < 50 && groupAlive(child); i++) await new Promise((r) => setTimeout(r, 100));
    process.off('exit', lastResort);
    return died;
  };
  return {
    child,
    output: () => out,
    kill: () => end('SIGKILL'),
    stop: async () => {
      await end('SIGTERM');
    },
  };
}

function groupAlive(child: ChildProcess): boolean {
  try {
    if (child.pid) process.kill(-child.pid, 0);
    return !!child.pid;
  } catch {
    return false;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
