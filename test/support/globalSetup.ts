/**
 * Once per `npm test`: make sure the tools exist, start one throw-away PostgreSQL cluster, and bundle
 * the workflow code once (suites load the bundle from a file instead of running webpack again).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { startThrowawayPostgres } from '../../src/infra/postgres';
import { freePort } from '../../src/infra/process';
import { ensureTemporalCli } from '../../src/infra/temporalCli';
import { ensureTestServer } from '../../src/infra/testServer';
import { bundleSlmWorkflows } from '../../src/workers/bundle';

export default async function globalSetup(): Promise<void> {
  const config = loadConfig({});
  const log = (msg: string) => process.stderr.write(`[test setup] ${msg}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-test-'));
  const [cli, testServer, pg, bundle] = await Promise.all([
    ensureTemporalCli({ explicit: process.env.TEMPORAL_CLI, cacheDir: config.SLM_CACHE_DIR, log }),
    ensureTestServer({ cacheDir: config.SLM_CACHE_DIR, log }),
    freePort().then((port) => startThrowawayPostgres(port)),
    bundleSlmWorkflows({ trace() {}, debug() {}, info() {}, warn() {}, error: log, log() {} }),
  ]);
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  process.env.SLM_TEST_DIR = dir;
  process.env.SLM_TEST_TEMPORAL_CLI = cli;
  process.env.SLM_TEST_TEST_SERVER = testServer;
  process.env.SLM_TEST_DATABASE_URL = pg.url;
  process.env.SLM_TEST_BUNDLE = bundlePath;
  (globalThis as { __slmPg?: { stop(): Promise<void> } }).__slmPg = pg;
}
