/**
 * `npm start` as a user runs it: the embedded runner in its own process, on free ports and a fresh
 * data folder. SIGINT stops everything it started; a second start picks the open ticket up again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { freePort, isPortOpen } from '../../src/infra/process';
import { freshStack, startEmbedded, stop, type Started } from '../support/embedded';
import { eventually, ROOT, runCli } from '../support/harness';

const SECRETS = { snow: 'embedded-Secret-pw-7731', webhook: 'webhook-Secret-key-4412-abcdef' };

it('starts everything, survives Ctrl-C and a second start with the ticket and its timer intact', async () => {
  const fresh = await freshStack('slm-embedded-');
  const { dataDir, ports, cliEnv } = fresh;
  const vars = {
    ...fresh.vars,
    // Distinctive secrets, scanned for below in every history, log and request the run produced.
    SNOW_PASSWORD: SECRETS.snow,
    SLM_WEBHOOK_SECRET: SECRETS.webhook,
    LOG_LEVEL: 'INFO',
  };
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
    const before = await eventually(
      async () => {
        const r = await runCli(['ticket', 'show', 'EMB-1', '--json'], { env: cliEnv });
        const doc = JSON.parse(r.stdout) as { measurements: { serviceTargetId: string; status: string; dueAt: string }[]; serviceProblem: { id: string } | null };
        return doc.serviceProblem && doc.measurements.length ? doc : undefined;
      },
      30000,
      'ticket with problem',
    );

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
        for (const [what, text] of [
          ['history', histories.join('\n')],
          ['logs', logs],
          ['SNOW request log', requests],
        ] as const) {
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
      const after = await eventually(
        async () => {
          const r = await runCli(['ticket', 'show', 'EMB-1', '--json'], { env: cliEnv });
          return r.code === 0 ? (JSON.parse(r.stdout) as typeof before) : undefined;
        },
        30000,
        'ticket after restart',
      );
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

it("runs the README's Try it as written, keeps applied definitions across restarts, and comes up after a crash", async () => {
  const { dataDir, ports, vars, cliEnv } = await freshStack('slm-crash-');
  const first = startEmbedded(vars);
  let second: Started | null = null;
  try {
    await eventually(async () => (first.output().includes('ready in') ? true : undefined), 90000, `embedded start (output: ${first.output()})`);
    expect(first.output()).toMatch(/definitions v1 \(5 service targets, new\) from examples\/definitions\.yaml/);

    // The README's "Try it", command by command, as a user pastes it: the ticket's, then the CI's.
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const runBlock = async (heading: RegExp) => {
      const block = new RegExp(`${heading.source}\\n\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme)![1]!;
      const commands = block
        .split('\n')
        .map((l) => l.replace(/\s+#.*$/, '').trim())
        .filter(Boolean);
      expect(commands.length).toBeGreaterThanOrEqual(5);
      for (const command of commands) {
        const script = command.replace(/(^|&& )\.\/slm/g, `$1${process.execPath} ${path.join(ROOT, 'bin', 'slm.cjs')}`).replace('localhost:8480', `127.0.0.1:${ports.emulator}`);
        const r = await new Promise<{ code: number; out: string }>((resolve) => {
          const child = spawn('sh', ['-c', script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...cliEnv } });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', (code) => resolve({ code: code ?? -1, out }));
        });
        expect({ command, code: r.code, out: r.code ? r.out : '' }).toEqual({ command, code: 0, out: '' });
      }
    };
    await runBlock(/## Try it/);
    // What the README says it does: T1 resolved within its goal, its category kept, one problem in SNOW, resolved.
    const t1 = JSON.parse((await runCli(['ticket', 'show', 'T1', '--json'], { env: cliEnv })).stdout) as {
      ticket: Record<string, unknown>;
      measurements: { serviceTargetId: string; status: string }[];
    };
    expect(t1.ticket).toMatchObject({ id: 'T1', priority: 1, state: 'Resolved', category: 'network' });
    expect(t1.measurements.find((m) => m.serviceTargetId === 'P1-resolution')).toMatchObject({ status: 'Met' });
    const problems = (await (await request(`http://127.0.0.1:${ports.emulator}/_emulator/problems`)).body.json()) as { category: string; status: string }[];
    await eventually(
      async () => {
        const ps = (await (await request(`http://127.0.0.1:${ports.emulator}/_emulator/problems`)).body.json()) as { status: string }[];
        return ps[0]?.status === 'resolved' ? true : undefined;
      },
      20000,
      'T1 resolved in SNOW',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.category).toBe('network');

    // The CI's "Try it": web-1 up then down, db-1 in alarm after its second sample.
    await runBlock(/### A configuration item/);
    const db1 = JSON.parse((await runCli(['ci', 'show', 'db-1', '--json'], { env: cliEnv })).stdout) as { measurements: { serviceTargetId: string; state: string }[] };
    expect(db1.measurements).toEqual([expect.objectContaining({ serviceTargetId: 'db-latency', state: 'alarm' })]);
    const web1 = JSON.parse((await runCli(['ci', 'show', 'web-1', '--json'], { env: cliEnv })).stdout) as { measurements: { state: string; segments: { state: string }[] }[] };
    expect(web1.measurements[0]!.segments.map((x) => x.state)).toEqual(['up', 'down']);

    // The agreement's "Try it": ops-gold counts T1's two met targets and web-1.
    await runBlock(/### An agreement/);
    const gold = await eventually(
      async () => {
        const doc = JSON.parse((await runCli(['compliance', 'show', 'ops-gold', '--json'], { env: cliEnv })).stdout) as {
          records: { reviewPeriod: string; closed: boolean; targets: { serviceTargetId: string; met: number | null; missed: number | null; downCount: number | null }[] }[];
        };
        const monthly = doc.records.find((r) => r.reviewPeriod === 'monthly');
        return monthly?.targets.find((t) => t.serviceTargetId === 'P1-response')?.met === 1 ? monthly : undefined;
      },
      20000,
      'ops-gold counting T1',
    );
    expect(gold.closed).toBe(false);
    expect(gold.targets.find((t) => t.serviceTargetId === 'P1-resolution')).toMatchObject({ met: 1, missed: 0 });
    expect(fs.readFileSync('/tmp/ops-gold.csv', 'utf8')).toMatch(/^section,agreementId/);

    // Definitions applied by an operator...
    const mine = path.join(dataDir, 'mine.yaml');
    fs.writeFileSync(mine, 'serviceTargets:\n  - { id: only-mine, appliesTo: "true", stop: "ticket.state == \\"Closed\\"", goal: { duration: 1h } }\n');
    expect((await runCli(['definitions', 'apply', mine], { env: cliEnv })).stdout).toMatch(/^definitions v2: 1 service target/);

    // ...then the runner dies without cleaning up: the dev server and PostgreSQL stay behind.
    const runner = (JSON.parse(fs.readFileSync(path.join(dataDir, 'runtime.json'), 'utf8')) as { pid: number }).pid;
    process.kill(runner, 'SIGKILL');
    await first.exited;
    expect(await isPortOpen(ports.temporal)).toBe(true);
    expect(await isPortOpen(ports.pg)).toBe(true);
    const stale = await runCli(['tickets', 'list'], { env: cliEnv });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/is not running \(its process \d+ is gone\)/);

    second = startEmbedded(vars);
    const s = second;
    await eventually(async () => (s.output().includes('ready in') ? true : undefined), 90000, `start after the crash (output: ${s.output()})`);
    expect(s.output()).toMatch(/did not stop cleanly/);
    expect(s.output()).toMatch(/stopped the Temporal dev server an earlier run left running \(pid \d+\)/);
    // The operator's definitions are still in force, not the example file.
    expect(s.output()).toMatch(/definitions v2 \(1 service targets\) from the store; .*not applied/);
    const listed = JSON.parse((await runCli(['tickets', 'list', '--json'], { env: cliEnv })).stdout) as { total: number };
    expect(listed.total).toBe(1);
    expect(await stop(s)).toBe(0);
    second = null;
    for (const port of Object.values(ports)) expect(await isPortOpen(port)).toBe(false);
  } finally {
    if (second) await stop(second);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
