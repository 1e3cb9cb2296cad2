/** Starting the HTTP API: in `npm start` beside the workers, or alone as a fleet's `api` process. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { AppPorts } from '../app/ports';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { storeCounts } from '../db/queries';
import { registerStoreMetrics } from '../telemetry/metrics';
import { createLog, type Log } from '../telemetry/log';
import type { ApiToken } from './auth';
import { buildApi } from './server';

export interface RunningApi {
  url: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

let storeMetrics = false;

/** The API's ports: the long-lived client and database of the process. */
export function apiPorts(client: Client, db: Db, config: Config): AppPorts {
  return { temporal: async () => client, db: async () => db, settings: config };
}

export async function startApi(opts: {
  config: Config;
  ports: AppPorts;
  tokens: ApiToken[];
  log?: Log;
  host?: string;
  port?: number;
  /** The Temporal UI's URL when this process knows it (`npm start`); else TEMPORAL_UI_URL. */
  temporalUiUrl?: string | null;
}): Promise<RunningApi> {
  const { config } = opts;
  const log = opts.log ?? createLog(config.SLM_LOG_FORMAT);
  if (!storeMetrics) {
    // Counts from the store (tickets open, measurements by status, breaches, milestones): one API process's view.
    registerStoreMetrics(async () => storeCounts(await opts.ports.db()));
    storeMetrics = true;
  }
  const app = await buildApi({
    ports: opts.ports,
    tokens: opts.tokens,
    maxInflight: config.SLM_API_MAX_INFLIGHT,
    maxPending: config.SLM_API_MAX_PENDING,
    idempotencyTtlSeconds: config.SLM_API_IDEMPOTENCY_TTL,
    log,
    temporalUiUrl: config.TEMPORAL_UI_URL ?? opts.temporalUiUrl ?? null,
    namespace: config.TEMPORAL_NAMESPACE,
  });
  await app.listen({ host: opts.host ?? config.SLM_API_HOST, port: opts.port ?? config.SLM_API_PORT });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, port: address.port, app, close: () => app.close() };
}
