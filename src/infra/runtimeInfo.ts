/**
 * Where a running embedded stack can be reached, written to .data/runtime.json so that `slm` commands
 * in another terminal find the dev server and database without configuration. Holds no secrets.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RuntimeInfo {
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  uiUrl: string | null;
  snowBaseUrl: string;
}

const FILE = 'runtime.json';

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): void {
  fs.writeFileSync(path.join(dataDir, FILE), JSON.stringify({ ...info, pid: process.pid }, null, 2));
}

export function removeRuntimeInfo(dataDir: string): void {
  fs.rmSync(path.join(dataDir, FILE), { force: true });
}

export type RuntimeState = { state: 'running'; info: RuntimeInfo & { pid: number } } | { state: 'stale'; pid: number } | { state: 'none' };

/** Whether `npm start` runs on this data folder: its info, a file left by a run that died, or nothing. */
export function runtimeState(dataDir: string): RuntimeState {
  let info: RuntimeInfo & { pid: number };
  try {
    info = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8')) as RuntimeInfo & { pid: number };
  } catch {
    return { state: 'none' };
  }
  try {
    process.kill(info.pid, 0);
    return { state: 'running', info };
  } catch {
    return { state: 'stale', pid: info.pid };
  }
}
