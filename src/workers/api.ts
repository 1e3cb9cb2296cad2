/**
 * Fleet entry point of the HTTP API (DESIGN §4.9): ingest, reads, OpenAPI, health and metrics, as many
 * replicas as wanted behind a load balancer (idempotency keys and ticket versions live in PostgreSQL,
 * so any replica answers a retry). Needs TEMPORAL_ADDRESS, DATABASE_URL and SLM_API_TOKEN or
 * SLM_API_TOKENS_FILE; listens on SLM_API_HOST:SLM_API_PORT (set SLM_API_HOST=0.0.0.0 in a container).
 */
import { Client, Connection } from '@temporalio/client';
import { loadTokens } from '../api/auth';
import { apiPorts, startApi } from '../api/start';
import { loadConfig } from '../config';
import { migrateDb, openDb } from '../db/client';
import { createLog } from '../telemetry/log';
import { onShutdownSignal } from './runtime';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for the api process (host:port)');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the api process');
  const { tokens } = loadTokens(config, { devToken: false });
  const log = createLog(config.SLM_LOG_FORMAT);
  const handle = openDb(config.DATABASE_URL);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await migrateDb(handle.db);
    const api = await startApi({ config, ports: apiPorts(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), handle.db, config), tokens, log });
    log('INFO', 'api ready', { url: api.url, tokens: tokens.length });
    await onShutdownSignal();
    await api.close();
  } finally {
    await connection.close();
    await handle.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`api: ${err.message}\n`);
  process.exit(1);
});
