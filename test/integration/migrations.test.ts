/**
 * Schema migrations keep what is stored: a database written by an earlier release is migrated in
 * place, and its rows read back through the current queries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { migrateDb, MIGRATIONS_FOLDER } from '../../src/db/client';
import { getTicketRow, listFirings, listSegments, loadTicketState } from '../../src/db/queries';
import { freshDatabase } from '../support/harness';

/** The migrations folder as an earlier release shipped it: the first `count` migrations. */
function migrationsUpTo(count: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slm-migrations-'));
  fs.cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalFile = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { entries: unknown[] };
  journal.entries = journal.entries.slice(0, count);
  fs.writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

it('stores measurements by subject, keeping the rows of release 0.2 as ticket measurements', async () => {
  const db = await freshDatabase('migrate_subjects', { migrate: false });
  const old = migrationsUpTo(5); // 0000–0004: release 0.2's schema
  try {
    await migrate(db.db, { migrationsFolder: old });
    const state = { ticketId: 'OLD-1', serviceTargetId: 'P1', instance: 0, status: 'Met', segments: [], firings: [], attachedAt: 1 };
    await db.db.execute(sql`INSERT INTO tickets (ticket_id, ticket, state) VALUES ('OLD-1', '{"id":"OLD-1","state":"Closed"}', 'Closed')`);
    await db.db
      .execute(sql`INSERT INTO measurements (ticket_id, service_target_id, instance, status, goal_seconds, elapsed_seconds, paused_seconds, met_missed_seconds, engine_state)
      VALUES ('OLD-1', 'P1', 0, 'Met', 3600, 600, 0, 3000, ${JSON.stringify(state)}::jsonb)`);
    await db.db.execute(sql`INSERT INTO measurement_segments (ticket_id, service_target_id, instance, seq, status, start_at, business_seconds, counts)
      VALUES ('OLD-1', 'P1', 0, 0, 'InProcess', now(), 600, 'elapsed')`);
    await db.db.execute(sql`INSERT INTO milestone_firings (ticket_id, service_target_id, instance, milestone, occurrence, due_at, fired_at, actions)
      VALUES ('OLD-1', 'P1', 0, 'warn', 0, now(), now(), '[]'::jsonb)`);

    await migrateDb(db.db);

    const rows = await db.db.execute<{ subject_kind: string; subject_id: string }>(sql`SELECT subject_kind, subject_id FROM measurements`);
    expect(rows.rows).toEqual([{ subject_kind: 'ticket', subject_id: 'OLD-1' }]);
    expect((await getTicketRow(db.db, 'OLD-1'))!.measurements).toHaveLength(1);
    expect((await loadTicketState(db.db, 'OLD-1'))!.measurements[0]).toMatchObject({ serviceTargetId: 'P1', status: 'Met' });
    expect(await listSegments(db.db, 'OLD-1')).toEqual([expect.objectContaining({ subjectKind: 'ticket', subjectId: 'OLD-1', seq: 0, businessSeconds: 600 })]);
    expect(await listFirings(db.db, 'OLD-1')).toEqual([expect.objectContaining({ subjectKind: 'ticket', subjectId: 'OLD-1', milestone: 'warn' })]);
    // A CI's measurement of the same target id is another row, not a conflict.
    await db.db
      .execute(sql`INSERT INTO measurements (subject_kind, subject_id, service_target_id, instance, status, goal_seconds, elapsed_seconds, paused_seconds, met_missed_seconds, engine_state)
      VALUES ('ci', 'OLD-1', 'P1', 0, 'Met', 3600, 0, 0, 3600, '{}'::jsonb)`);
    expect((await getTicketRow(db.db, 'OLD-1'))!.measurements).toHaveLength(1);
  } finally {
    fs.rmSync(old, { recursive: true, force: true });
    await db.close();
  }
});
