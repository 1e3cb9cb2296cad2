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

/** The info of a live embedded stack, or null (no file, or its process is gone). */
export function readRuntimeInfo(dataDir: string): RuntimeInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8')) as RuntimeInfo & { pid: number };
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}
