/**
 * `npm run db:migrate`: applies the checked-in migrations to DATABASE_URL, or to the database of the
 * stack `npm start` runs on this data folder. Idempotent (the workers migrate at start too).
 */
import { loadConfig } from '../config';
import { runtimeState } from '../infra/runtimeInfo';
import { migrateDb, openDb } from './client';

async function main(): Promise<void> {
  const config = loadConfig();
  const rt = runtimeState(config.SLM_DATA_DIR);
  const url = config.DATABASE_URL ?? (rt.state === 'running' ? rt.info.databaseUrl : null);
  if (!url) throw new Error(`no database: set DATABASE_URL, or run \`npm start\` (its database is migrated at start)`);
  const handle = openDb(url, { max: 1 });
  try {
    await migrateDb(handle.db);
  } finally {
    await handle.close();
  }
  process.stdout.write(`migrations applied to ${url.replace(/:[^:@/]+@/, ':***@')}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`db:migrate: ${err.message.split('\n')[0]}\n`);
  process.exit(1);
});
