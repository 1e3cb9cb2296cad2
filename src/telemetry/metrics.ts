/**
 * Metrics, set up once per process (DESIGN §2): one prom-client registry holds the application's own
 * metrics and, fed from the Temporal SDK's buffered exporter, the SDK's runtime metrics (workflow task
 * latency, schedule-to-start, polls, …) and the workflows' own (timer lateness), so each process has
 * one `/metrics` in Prometheus text format. The API serves it; a fleet's workers serve it on
 * SLM_METRICS_PORT.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsBuffer } from '@temporalio/worker';
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'slm_process_' });

/** Ingest requests by route and outcome (accepted, stale, ignored, rejected, unauthorized, forbidden, throttled, replayed, error). */
export const ingestRequests = new client.Counter({
  name: 'slm_ingest_requests_total',
  help: 'Ticket changes and source events received by the API, by route and outcome',
  labelNames: ['route', 'outcome'] as const,
  registers: [registry],
});

/** Ticket changes the API queued and has not yet handed to their workflows (all API processes). */
export const ingestBacklog = new client.Gauge({
  name: 'slm_ingest_backlog',
  help: 'Ticket changes accepted by the API and not yet forwarded to their workflows',
  registers: [registry],
});

/** Requests to SNOW by operation and HTTP status (`network` when none came back). */
export const snowRequests = new client.Histogram({
  name: 'slm_snow_request_duration_seconds',
  help: 'Requests to SNOW (TMF656/TMF642), by operation and HTTP status',
  labelNames: ['operation', 'status'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const snowErrors = new client.Counter({
  name: 'slm_snow_request_errors_total',
  help: 'Requests to SNOW that failed, by operation and HTTP status (`network` for no answer)',
  labelNames: ['operation', 'status'] as const,
  registers: [registry],
});

/**
 * Counts read from the database at each scrape (the API process, which has it): the same on every
 * replica, so sum nothing across processes: take one.
 */
export interface StoreCounts {
  ticketsOpen: number;
  measurementsByStatus: Record<string, number>;
  breaches: number;
  milestonesFired: number;
}

/** Registers the store's gauges and counters, read by `read` at most once per scrape. */
export function registerStoreMetrics(read: () => Promise<StoreCounts>): void {
  let pending: Promise<StoreCounts> | null = null;
  const once = () => (pending ??= read().finally(() => setTimeout(() => (pending = null), 0)));
  new client.Gauge({
    name: 'slm_tickets_open',
    help: 'Managed tickets not closed',
    registers: [registry],
    async collect() {
      this.set((await once()).ticketsOpen);
    },
  });
  new client.Gauge({
    name: 'slm_measurements',
    help: 'Measurements by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await once();
      this.reset();
      for (const [status, n] of Object.entries(counts.measurementsByStatus)) this.set({ status }, n);
    },
  });
  new client.Counter({
    name: 'slm_breaches_total',
    help: 'Measurements that missed their goal (MissedGoal or Missed), ever',
    registers: [registry],
    async collect() {
      const c = await once();
      this.reset();
      this.inc(c.breaches);
    },
  });
  new client.Counter({
    name: 'slm_milestones_fired_total',
    help: 'Milestone firings (not skipped by their condition), ever',
    registers: [registry],
    async collect() {
      const c = await once();
      this.reset();
      this.inc(c.milestonesFired);
    },
  });
}

/**
 * The Temporal SDK's metrics, drained from its buffer into the registry (at each scrape and every
 * second, so the buffer never fills). Core's names carry the `temporal_` prefix; the workflows' own
 * (`slm_…`) keep theirs. Durations are seconds.
 */
export function bridgeSdkMetrics(buffer: MetricsBuffer): { stop(): void; drain(): void } {
  type Sink = { labelNames: string[]; apply(labels: Record<string, string>, value: number): void };
  const sinks = new Map<string, Sink>();
  const sinkFor = (m: { name: string; kind: string; description?: string; unit?: string }, keys: string[]): Sink | null => {
    // Core prefixes every name with `temporal_`, the workflows' own too: theirs go back to `slm_`.
    const raw = m.name.startsWith('temporal_slm_') ? m.name.slice('temporal_'.length) : m.name;
    const name = (raw.startsWith('slm_') || raw.startsWith('temporal_') ? raw : `temporal_${raw}`).replace(/[^a-zA-Z0-9_:]/g, '_');
    const known = sinks.get(name);
    if (known) return known;
    const labelNames = keys.map((k) => k.replace(/[^a-zA-Z0-9_]/g, '_'));
    const help = m.description || m.name;
    let sink: Sink | null = null;
    if (m.kind === 'counter') {
      const c = new client.Counter({ name: name.endsWith('_total') ? name : `${name}_total`, help, labelNames, registers: [registry] });
      sink = { labelNames, apply: (l, v) => c.inc(l, v) };
    } else if (m.kind === 'histogram') {
      const h = new client.Histogram({ name: `${name}_seconds`.replace(/_seconds_seconds$/, '_seconds'), help, labelNames, registers: [registry] });
      sink = { labelNames, apply: (l, v) => h.observe(l, v) };
    } else if (m.kind === 'gauge' || m.kind === 'up_down_counter') {
      const g = new client.Gauge({ name, help, labelNames, registers: [registry] });
      sink = m.kind === 'gauge' ? { labelNames, apply: (l, v) => g.set(l, v) } : { labelNames, apply: (l, v) => g.inc(l, v) };
    }
    if (sink) sinks.set(name, sink);
    return sink;
  };
  const drain = () => {
    for (const u of buffer.retrieveUpdates()) {
      const attrs = u.attributes;
      const sink = sinkFor(u.metric, Object.keys(attrs));
      if (!sink) continue;
      const labels: Record<string, string> = {};
      for (const k of sink.labelNames) {
        const v = attrs[k];
        labels[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
      }
      try {
        sink.apply(labels, u.value);
      } catch {
        // A metric re-declared by another module under the same name: not ours to break on.
      }
    }
  };
  const timer = setInterval(drain, 1000);
  timer.unref();
  const collector = new client.Gauge({ name: 'slm_sdk_metrics_bridge', help: 'Set to 1 while the SDK metrics are bridged', registers: [registry], collect: () => drain() });
  collector.set(1);
  return { stop: () => clearInterval(timer), drain };
}

/** The registry in Prometheus text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** A bare `/metrics` server for worker processes (SLM_METRICS_PORT). */
export async function serveMetrics(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      metricsText().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: /metrics is served here\n');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}
