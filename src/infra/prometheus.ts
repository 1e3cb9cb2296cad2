/**
 * A Prometheus server on loopback, from Debian's `prometheus` package (installed when missing, as
 * PostgreSQL is): the tests scrape the API's and workers' `/metrics` with it and query the series back,
 * and the KPI collector of the next issues reads from one.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { ensureDebianBinary } from './debian';
import { InfraError, which } from './process';

export async function ensurePrometheus(log?: (msg: string) => void): Promise<string> {
  // No service is started by the package in a container without an init system; we start our own.
  if (fs.existsSync('/usr/bin/prometheus') && !(await which('prometheus'))) return '/usr/bin/prometheus';
  return ensureDebianBinary('prometheus', 'prometheus', log);
}

export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API (`/api/v1/query`): the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (host:port, path /metrics) every `intervalSeconds`. */
export async function startPrometheus(opts: { bin: string; dir: string; port: number; targets: string[]; intervalSeconds?: number }): Promise<PrometheusServer> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const interval = opts.intervalSeconds ?? 1;
  const config = path.join(opts.dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}s`,
      `  evaluation_interval: ${interval}s`,
      'scrape_configs:',
      '  - job_name: slm',
      '    static_configs:',
      `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    opts.bin,
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(opts.dir, 'data')}`, `--web.listen-address=127.0.0.1:${opts.port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await request(`${url}/-/ready`).then(
      async (r) => (await r.body.dump(), r.statusCode === 200),
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new InfraError(`prometheus did not become ready on ${url}: ${errors.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(expr) {
      const r = await request(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await r.body.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new InfraError(`prometheus query ${expr}: ${body.error ?? r.statusCode}`);
      return body.data!.result;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
