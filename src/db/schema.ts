/**
 * The one drizzle schema. Migrations under src/db/migrations are generated from it with
 * `npm run db:generate` and applied at start-up.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Managed tickets: the seed's Tickets Table (ticket id, ticket JSON, problem id, incident number, link). */
export const tickets = pgTable(
  'tickets',
  {
    ticketId: text('ticket_id').primaryKey(),
    ticket: jsonb('ticket').notNull(),
    state: text('state'),
    priority: integer('priority'),
    problemId: text('problem_id'),
    incidentNumber: text('incident_number'),
    link: text('link'),
    problemStatus: text('problem_status'),
    lastSyncAt: timestamp('last_sync_at', { withTimezone: true }),
    lastError: text('last_error'),
    /** Closed by the connector's closure condition: no longer synced to SNOW. */
    syncClosed: boolean('sync_closed').notNull().default(false),
    /** The ticket's tenant (its `tenantField`), for row-level security; null without tenancy. */
    tenant: text('tenant'),
    /** Changes the ticket's workflow refused, with when and why (the last 20). */
    rejectedChanges: jsonb('rejected_changes').notNull().default([]),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('tickets_state_idx').on(t.state, t.ticketId),
    // The tickets table's sorts (with the id as tie-break), read a page at a time.
    index('tickets_priority_idx').on(t.priority, t.ticketId),
    index('tickets_last_sync_idx').on(t.lastSyncAt, t.ticketId),
    index('tickets_updated_idx').on(t.updatedAt, t.ticketId),
  ],
);

/**
 * One service target measured on one ticket (SLM:Measurement). `instance` numbers the measurements
 * of one target on one ticket: a target that detaches and attaches again gets a new one (1, 2, …)
 * beside the old, which stays.
 */
export const measurements = pgTable(
  'measurements',
  {
    /** What is measured: `ticket` (request targets) or `ci` (availability and performance), and its id. */
    subjectKind: text('subject_kind').notNull().default('ticket'),
    subjectId: text('subject_id').notNull(),
    serviceTargetId: text('service_target_id').notNull(),
    instance: integer('instance').notNull().default(0),
    status: text('status').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
    dueAt: timestamp('due_at', { withTimezone: true }),
    missedGoalAt: timestamp('missed_goal_at', { withTimezone: true }),
    goalSeconds: integer('goal_seconds').notNull(),
    elapsedSeconds: integer('elapsed_seconds').notNull(),
    pausedSeconds: integer('paused_seconds').notNull(),
    metMissedSeconds: integer('met_missed_seconds').notNull(),
    impactCost: doublePrecision('impact_cost'),
    reason: text('reason'),
    definitionVersion: text('definition_version'),
    calendarId: text('calendar_id'),
    inheritedFrom: text('inherited_from'),
    inheritedBy: text('inherited_by'),
    /** The engine's own state of the measurement, so a later run can pick it up. */
    engineState: jsonb('engine_state').notNull(),
    /** The ticket's tenant; kept from its result instant once the result is counted (DESIGN §4.8). */
    tenant: text('tenant'),
    /** Where compliance counts the result: the stop for Met, the due instant for Missed and MissedGoal (the due instant of a running one). */
    resultAt: timestamp('result_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.subjectKind, t.subjectId, t.serviceTargetId, t.instance] }),
    index('measurements_status_idx').on(t.status),
    index('measurements_result_idx').on(t.serviceTargetId, t.resultAt),
  ],
);

/** Status intervals of a measurement (SLM:MeasurementChild), numbered in order. */
export const measurementSegments = pgTable(
  'measurement_segments',
  {
    /** What is measured: `ticket` (request targets) or `ci` (availability and performance), and its id. */
    subjectKind: text('subject_kind').notNull().default('ticket'),
    subjectId: text('subject_id').notNull(),
    serviceTargetId: text('service_target_id').notNull(),
    instance: integer('instance').notNull().default(0),
    seq: integer('seq').notNull(),
    status: text('status').notNull(),
    startAt: timestamp('start_at', { withTimezone: true }).notNull(),
    stopAt: timestamp('stop_at', { withTimezone: true }),
    businessSeconds: integer('business_seconds').notNull(),
    /** The same to the millisecond (CI segments: samples carry milliseconds); null on ticket segments. */
    businessMs: bigint('business_ms', { mode: 'number' }),
    counts: text('counts').notNull(),
    note: text('note'),
    /** The tenant the ticket or CI carried when the segment began (a CI segment keeps it). */
    tenant: text('tenant'),
  },
  (t) => [
    primaryKey({ columns: [t.subjectKind, t.subjectId, t.serviceTargetId, t.instance, t.seq] }),
    index('measurement_segments_target_idx').on(t.serviceTargetId, t.startAt),
    // The segments over an instant (a review period's edges, DESIGN §4.8) without a scan.
    index('measurement_segments_span_idx').using('gist', sql`tstzrange(${t.startAt}, greatest(${t.startAt}, ${t.stopAt}))`),
  ],
);

/** Each milestone firing (or skip) with the outcome of each of its actions. */
export const milestoneFirings = pgTable(
  'milestone_firings',
  {
    /** What is measured: `ticket` (request targets) or `ci` (availability and performance), and its id. */
    subjectKind: text('subject_kind').notNull().default('ticket'),
    subjectId: text('subject_id').notNull(),
    serviceTargetId: text('service_target_id').notNull(),
    instance: integer('instance').notNull().default(0),
    milestone: text('milestone').notNull(),
    occurrence: integer('occurrence').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    firedAt: timestamp('fired_at', { withTimezone: true }).notNull(),
    skipped: text('skipped'),
    actions: jsonb('actions').notNull(),
  },
  (t) => [primaryKey({ columns: [t.subjectKind, t.subjectId, t.serviceTargetId, t.instance, t.milestone, t.occurrence] })],
);

/**
 * Milestone actions already carried out, by idempotency key: an activity retried after a worker
 * crash finds its action here and does not repeat it.
 */
export const actionLog = pgTable('action_log', {
  key: text('key').primaryKey(),
  status: text('status').notNull(),
  detail: text('detail'),
  executedAt: timestamp('executed_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Versioned definition documents; the newest row of a kind is in force. */
export const definitions = pgTable('definitions', {
  version: integer('version').primaryKey().generatedAlwaysAsIdentity(),
  body: jsonb('body').notNull(),
  digest: text('digest').notNull(),
  source: text('source'),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Configuration items measured by availability and performance targets (DESIGN §4.7): the latest
 * snapshot, the headline state and the measurements as the CI's workflow last saved them. Their
 * segments are rows of `measurement_segments` with subject kind `ci`.
 */
export const cis = pgTable(
  'cis',
  {
    ciId: text('ci_id').primaryKey(),
    /** Null until a snapshot came (KPI samples may come first). */
    ci: jsonb('ci'),
    class: text('class'),
    /** The worst state of its open measurements (down or alarm first); null with none. */
    state: text('state'),
    down: boolean('down').notNull().default(false),
    kpis: jsonb('kpis').notNull().default({}),
    measurements: jsonb('measurements').notNull().default([]),
    rejectedChanges: jsonb('rejected_changes').notNull().default([]),
    /** The CI's tenant (its `tenantField`), for row-level security. */
    tenant: text('tenant'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('cis_state_idx').on(t.state)],
);

/**
 * The KPI ingest's reduction per CI: the latest reading of each KPI, and the readings last forwarded
 * to the CI's workflow. A sample reaches the workflow only when it changes a performance state there,
 * or when the workflow's copy is getting old (see src/app/cis.ts).
 */
export const ciKpis = pgTable('ci_kpis', {
  ciId: text('ci_id').primaryKey(),
  readings: jsonb('readings').notNull(),
  sent: jsonb('sent').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type TicketRow = typeof tickets.$inferSelect;
export type MeasurementRow = typeof measurements.$inferSelect;
export type DefinitionsRow = typeof definitions.$inferSelect;

/**
 * The fleet-wide cap on requests to SNOW (TMF_MAX_CONCURRENT, the seed's five connections): one row
 * per slot, held by one tmf worker process at a time under a lease it renews. A worker that dies
 * stops renewing, and its slots can be taken once the lease has run out.
 */
export const snowSlots = pgTable('snow_slots', {
  slot: integer('slot').primaryKey(),
  holder: text('holder'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The API's Idempotency-Key record: a retried request with the same key (from the same token) gets
 * the first answer instead of applying again. `status` is null while the first request runs.
 */
export const apiIdempotency = pgTable(
  'api_idempotency',
  {
    /** Whose key: a digest of the token (never the token), so two clients' keys never meet. */
    principal: text('principal').notNull(),
    key: text('key').notNull(),
    /** Method, route and a digest of the body: the same key with another request is refused. */
    request: text('request').notNull(),
    status: integer('status'),
    response: jsonb('response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.key] }), index('api_idempotency_created_idx').on(t.createdAt)],
);

/**
 * The newest `updatedAt` (instant or source version) the API has taken in per ticket: an older
 * snapshot is reported stale and not sent. Kept by a conditional upsert, so concurrent deliveries
 * of one ticket are ordered here; the ticket workflow applies the same rule to what reaches it.
 */
export const ticketVersions = pgTable('ticket_versions', {
  ticketId: text('ticket_id').primaryKey(),
  kind: text('kind').notNull(),
  version: doublePrecision('version').notNull(),
  raw: text('raw').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Ticket changes the API has answered 202 for and not yet handed to their workflows (a transactional
 * outbox): the answer waits for one PostgreSQL insert, not for Temporal. Forwarded in order per
 * ticket by every API process (the head of each ticket's queue, rows locked with SKIP LOCKED), and
 * removed in the transaction that saw them sent.
 */
export const ingestOutbox = pgTable(
  'ingest_outbox',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    ticketId: text('ticket_id').notNull(),
    /** `snapshot` (a full ticket) or `patch` (a JSON merge patch). */
    kind: text('kind').notNull(),
    body: jsonb('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('ingest_outbox_ticket_idx').on(t.ticketId, t.seq)],
);

/**
 * Measurements changed since compliance last counted them (a feed): one row per save of a measurement,
 * stamped with its transaction. The compliance tick takes the rows of finished transactions (below
 * the snapshot's xmin) and deletes them in its own transaction, so none is missed or counted twice.
 */
export const complianceChanges = pgTable('compliance_changes', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** The writing transaction's id (pg_current_xact_id). */
  tx: bigint('tx', { mode: 'number' })
    .notNull()
    .default(sql`(pg_current_xact_id()::text::bigint)`),
  subjectKind: text('subject_kind').notNull(),
  subjectId: text('subject_id').notNull(),
  serviceTargetId: text('service_target_id').notNull(),
  instance: integer('instance').notNull(),
});

/** What compliance counted of each measurement: a request's fact, or a CI measurement's next segment and open one. */
export const complianceFacts = pgTable('compliance_facts', {
  factKey: text('fact_key').primaryKey(),
  counted: jsonb('counted').notNull(),
  /** A CI measurement with an open segment (its tail is read at every tick). */
  open: boolean('open').notNull().default(false),
});

/**
 * Compliance records (SLM:SLACompliance): one per agreement × contract × review period × period.
 * `acc` holds the counted facts, `life` the close-out, amendment, milestones fired and settlement
 * so far, `doc` the record as last computed (DESIGN §4.8's JSON).
 */
export const complianceRecords = pgTable(
  'compliance_records',
  {
    scope: text('scope').notNull(),
    reviewPeriod: text('review_period').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
    agreementId: text('agreement_id').notNull(),
    contractId: text('contract_id'),
    /** The contract's tenant (row-level security); null for an agreement over every tenant. */
    tenant: text('tenant'),
    closed: boolean('closed').notNull().default(false),
    percent: doublePrecision('percent'),
    status: text('status'),
    acc: jsonb('acc').notNull(),
    life: jsonb('life').notNull(),
    doc: jsonb('doc').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.reviewPeriod, t.periodStart] }),
    index('compliance_records_open_idx').on(t.closed),
    index('compliance_records_agreement_idx').on(t.agreementId, t.periodStart),
  ],
);

/**
 * The percent of each record as the tick wrote it, for the dashboard's and the report's chart: one
 * point per slice of the period (about an hour; 96 to 720 a period, `pointSlices`), the last write in
 * a slice winning.
 */
export const compliancePoints = pgTable(
  'compliance_points',
  {
    scope: text('scope').notNull(),
    reviewPeriod: text('review_period').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    slice: integer('slice').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    percent: doublePrecision('percent'),
    /** The record's tenant (row-level security). */
    tenant: text('tenant'),
  },
  (t) => [primaryKey({ columns: [t.scope, t.reviewPeriod, t.periodStart, t.slice] })],
);

/** The compliance tick's own state: when each agreement began to count, each scope's first fact and records opened, the definitions counted with. */
export const complianceState = pgTable('compliance_state', {
  id: integer('id').primaryKey(),
  state: jsonb('state').notNull(),
});

/**
 * The settlement ledger: the close-out of a record (revision 1) and each amendment's delta, keyed by
 * agreement × contract × review period × period × revision and written in the transaction that closes
 * or amends the record — settled exactly once, whatever crashes around it.
 */
export const complianceSettlements = pgTable('compliance_settlements', {
  key: text('key').primaryKey(),
  agreementId: text('agreement_id').notNull(),
  contractId: text('contract_id'),
  tenant: text('tenant'),
  reviewPeriod: text('review_period').notNull(),
  periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
  periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
  revision: integer('revision').notNull(),
  percent: doublePrecision('percent'),
  penalty: doublePrecision('penalty'),
  reward: doublePrecision('reward'),
  penaltyDelta: doublePrecision('penalty_delta').notNull(),
  rewardDelta: doublePrecision('reward_delta').notNull(),
  settledAt: timestamp('settled_at', { withTimezone: true }).notNull().defaultNow(),
});
