/** `npm start` in its own process, on free ports and a fresh data folder, as the suites run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/infra/process';
import { env, ROOT } from './harness';

export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number>;
}

export function startEmbedded(vars: Record<string, string>): Started {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'src', 'workers', 'embedded.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TEMPORAL_CLI: env('SLM_TEST_TEMPORAL_CLI'), LOG_LEVEL: 'WARN', ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, output: () => out, exited };
}

/** A fresh data folder and free ports for one embedded stack, as the variables `npm start` reads. */
export async function freshStack(prefix: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dataDir, 0o755);
  const ports = { temporal: await freePort(), ui: await freePort(), pg: await freePort(), emulator: await freePort(), api: await freePort() };
  const vars = {
    SLM_DATA_DIR: dataDir,
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    DATABASE_EMBEDDED_PORT: String(ports.pg),
    EMULATOR_PORT: String(ports.emulator),
    SLM_API_PORT: String(ports.api),
  };
  return { dataDir, ports, vars, cliEnv: { SLM_DATA_DIR: dataDir } };
}

export async function stop(s: Started): Promise<number> {
  s.child.kill('SIGINT');
  return s.exited;
}
