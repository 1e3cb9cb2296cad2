/**
 * `npm start` as a user runs it: the embedded runner in its own process, on free ports and a fresh
 * data folder. SIGINT stops everything it started; a second start picks the open ticket up again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { freePort, isPortOpen } from '../../src/infra/process';
import { env, eventually, ROOT, runCli } from '../support/harness';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number>;
}

function startEmbedded(vars: Record<string, string>): Started {
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

const SECRETS = { snow: 'embedded-Secret-pw-7731', webhook: 'webhook-Secret-key-4412-abcdef' };

async function stop(s: Started): Promise<number> {
  s.child.kill('SIGINT');
  return s.exited;
}

it('starts everything, survives Ctrl-C and a second start with the ticket and its timer intact', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-embedded-'));
  fs.chmodSync(dataDir, 0o755);
  const ports = { temporal: await freePort(), ui: await freePort(), pg: await freePort(), emulator: await freePort() };
  const vars = {
    SLM_DATA_DIR: dataDir,
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    DATABASE_EMBEDDED_PORT: String(ports.pg),
    EMULATOR_PORT: String(ports.emulator),
    // Distinctive secrets, scanned for below in every history, log and request the run produced.
    SNOW_PASSWORD: SECRETS.snow,
    SLM_WEBHOOK_SECRET: SECRETS.webhook,
    LOG_LEVEL: 'INFO',
  };
  const cliEnv = { SLM_DATA_DIR: dataDir };
  try {
    const first = startEmbedded(vars);
    await eventually(async () => (first.output().includes('ready in') ? true : undefined), 90000, `embedded start (output: ${first.output()})`);
    expect(first.output()).toContain(`Temporal Web UI   http://127.0.0.1:${ports.ui}`);
    expect(first.output()).toContain(`http://127.0.0.1:${ports.emulator}`);
    const ui = await request(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.statusCode).toBe(200);
    await ui.body.dump();

    // The CLI finds the running stack through .data/runtime.json.
    const up = await runCli(['ticket', 'upsert', '--id', 'EMB-1', '--priority', '1', '--state', 'New'], { env: cliEnv });
    expect(up.code).toBe(0);
    const before = await eventually(async () => {
      const r = await runCli(['ticket', 'show', 'EMB-1', '--json'], { env: cliEnv });
      const doc = JSON.parse(r.stdout) as { measurements: { serviceTargetId: string; status: string; dueAt: string }[]; serviceProblem: { id: string } | null };
      return doc.serviceProblem && doc.measurements.length ? doc : undefined;
    }, 30000, 'ticket with problem');

    // Secrets never reach workflow inputs, history or search attributes, the logs, or SNOW's request log.
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      const client = new Client({ connection });
      const histories: string[] = [];
      for await (const wf of client.workflow.list()) histories.push(JSON.stringify(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()));
      expect(histories.length).toBeGreaterThanOrEqual(2); // the ticket and the SNOW poll
      const requests = await (await request(`http://127.0.0.1:${ports.emulator}/_emulator/requests`)).body.text();
      const logs = first.output() + fs.readFileSync(path.join(dataDir, 'temporal.log'), 'utf8');
      const basic = Buffer.from(`slm:${SECRETS.snow}`).toString('base64');
      for (const secret of [SECRETS.snow, SECRETS.webhook, basic]) {
        for (const [what, text] of [['history', histories.join('\n')], ['logs', logs], ['SNOW request log', requests]] as const) {
          expect({ what, leaked: text.includes(secret) }).toEqual({ what, leaked: false });
        }
      }
    } finally {
      await connection.close();
    }

    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('stopped');
    for (const port of Object.values(ports)) expect(await isPortOpen(port)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);

    const second = startEmbedded(vars);
    try {
      await eventually(async () => (second.output().includes('ready in') ? true : undefined), 90000, 'second start');
      const after = await eventually(async () => {
        const r = await runCli(['ticket', 'show', 'EMB-1', '--json'], { env: cliEnv });
        return r.code === 0 ? (JSON.parse(r.stdout) as typeof before) : undefined;
      }, 30000, 'ticket after restart');
      expect(after.serviceProblem?.id).toBe(before.serviceProblem!.id);
      const resolution = after.measurements.find((m) => m.serviceTargetId === 'P1-resolution')!;
      expect(resolution.status).toBe('InProcess');
      expect(resolution.dueAt).toBe(before.measurements.find((m) => m.serviceTargetId === 'P1-resolution')!.dueAt);
      // The emulator kept its problem across the restart: one problem, one POST in all.
      const problems = (await (await request(`http://127.0.0.1:${ports.emulator}/_emulator/problems`)).body.json()) as unknown[];
      expect(problems).toHaveLength(1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

it('runs the emulator alone with the port and credentials given on the command line', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slm.cjs'), 'emulator', '--port', String(port), '--username', 'alice', '--password', 's3cret'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: 'ignore',
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await eventually(async () => ((await isPortOpen(port)) ? true : undefined), 20000, 'emulator port');
    const url = `http://127.0.0.1:${port}/gstm/dataminer/tmf/api/v1/tmf656/serviceProblem`;
    const ok = await request(url, { headers: { authorization: 'Basic ' + Buffer.from('alice:s3cret').toString('base64') } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const denied = await request(url, { headers: { authorization: 'Basic ' + Buffer.from('slm:slm-dev-password').toString('base64') } });
    expect(denied.statusCode).toBe(401);
    await denied.body.dump();
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
});

it('takes start-time faults as flags and rejects bad ones', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'slm.cjs'), 'emulator', '--port', String(port), '--error-rate', '1'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: 'ignore',
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await eventually(async () => ((await isPortOpen(port)) ? true : undefined), 20000, 'emulator port');
    const res = await request(`http://127.0.0.1:${port}/gstm/dataminer/tmf/api/v1/tmf656/serviceProblem`, {
      headers: { authorization: 'Basic ' + Buffer.from('slm:slm-dev-password').toString('base64') },
    });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
  const bad = await runCli(['emulator', '--drop-rate', '1.5']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/dropRate/);
});
