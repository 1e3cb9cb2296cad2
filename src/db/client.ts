/** Opens PostgreSQL through node-postgres and drizzle, and applies the checked-in migrations. */
import path from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { Pool } from 'pg';
import * as schema from './schema';

export type Db = NodePgDatabase<typeof schema>;

export interface DbHandle {
  db: Db;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = path.join(__dirname, 'migrations');

/** `onQuery` sees every statement drizzle sends (the benchmarks count them). */
export function openDb(url: string, opts: { max?: number; onQuery?: (sql: string) => void } = {}): DbHandle {
  const pool = new Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const onQuery = opts.onQuery;
  const db = drizzle(pool, { schema, casing: 'snake_case', ...(onQuery ? { logger: { logQuery: (sql: string) => onQuery(sql) } } : {}) });
  return { db, close: () => pool.end() };
}

export async function migrateDb(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
}
