/**
 * `npm run provision`: fetches and builds, once, the servers the project runs itself — the Temporal
 * CLI (dev server + Web UI), Temporal's time-skipping test server, PostgreSQL's binaries, and for the
 * tests Prometheus, Chromium and pdftotext — into the per-user cache (SLM_CACHE_DIR) or the system,
 * and says where each is. `npm start` and `npm test` do the same on first use; this does it ahead (a
 * CI image, an offline laptop).
 */
import { loadConfig } from '../config';
import { ensureChromium, ensurePdftotext } from './debian';
import { ensurePostgresBinaries } from './postgres';
import { ensurePrometheus } from './prometheus';
import { ensureTemporalCli } from './temporalCli';
import { ensureTestServer } from './testServer';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = (msg: string) => process.stdout.write(`[provision] ${msg}\n`);
  const timed = async (what: string, fn: () => Promise<string>) => {
    const t = Date.now();
    const where = await fn();
    log(`${what.padEnd(22)} ${where}  (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };
  await timed('Temporal CLI', () => ensureTemporalCli({ explicit: config.TEMPORAL_CLI, cacheDir: config.SLM_CACHE_DIR, log }));
  await timed('Temporal test server', () => ensureTestServer({ cacheDir: config.SLM_CACHE_DIR, log }));
  await timed('PostgreSQL binaries', () => ensurePostgresBinaries(log));
  await timed('Prometheus (tests)', () => ensurePrometheus(log));
  await timed('Chromium (tests)', () => ensureChromium(log));
  await timed('pdftotext (tests)', () => ensurePdftotext(log));
}

main().catch((err: Error) => {
  process.stderr.write(`provision: ${err.message.split('\n')[0]}\n`);
  process.exit(1);
});
