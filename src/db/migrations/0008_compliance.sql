CREATE TABLE "compliance_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"service_target_id" text NOT NULL,
	"instance" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "compliance_facts" (
	"fact_key" text PRIMARY KEY NOT NULL,
	"counted" jsonb NOT NULL,
	"open" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "compliance_records" (
	"scope" text NOT NULL,
	"review_period" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"agreement_id" text NOT NULL,
	"contract_id" text,
	"tenant" text,
	"closed" boolean DEFAULT false NOT NULL,
	"percent" double precision,
	"status" text,
	"acc" jsonb NOT NULL,
	"life" jsonb NOT NULL,
	"doc" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "compliance_records_scope_review_period_period_start_pk" PRIMARY KEY("scope","review_period","period_start")
);
--> statement-breakpoint
CREATE TABLE "compliance_settlements" (
	"key" text PRIMARY KEY NOT NULL,
	"agreement_id" text NOT NULL,
	"contract_id" text,
	"tenant" text,
	"review_period" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"revision" integer NOT NULL,
	"percent" double precision,
	"penalty" double precision,
	"reward" double precision,
	"penalty_delta" double precision NOT NULL,
	"reward_delta" double precision NOT NULL,
	"settled_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "compliance_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"state" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cis" ADD COLUMN "tenant" text;--> statement-breakpoint
ALTER TABLE "measurement_segments" ADD COLUMN "tenant" text;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "tenant" text;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "result_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "tenant" text;--> statement-breakpoint
CREATE INDEX "compliance_records_open_idx" ON "compliance_records" USING btree ("closed");--> statement-breakpoint
CREATE INDEX "compliance_records_agreement_idx" ON "compliance_records" USING btree ("agreement_id","period_start");--> statement-breakpoint
CREATE INDEX "measurement_segments_target_idx" ON "measurement_segments" USING btree ("service_target_id","start_at");--> statement-breakpoint
CREATE INDEX "measurement_segments_span_idx" ON "measurement_segments" USING gist (tstzrange("start_at", greatest("start_at", "stop_at")));--> statement-breakpoint
CREATE INDEX "measurements_result_idx" ON "measurements" USING btree ("service_target_id","result_at");--> statement-breakpoint
UPDATE "measurements" SET "result_at" = CASE "status" WHEN 'Met' THEN "stopped_at" WHEN 'Missed' THEN coalesce("missed_goal_at", "due_at") WHEN 'MissedGoal' THEN coalesce("missed_goal_at", "due_at") WHEN 'InProcess' THEN "due_at" END;--> statement-breakpoint
UPDATE "tickets" SET "tenant" = "ticket" ->> (SELECT "body" ->> 'tenantField' FROM "definitions" ORDER BY "version" DESC LIMIT 1);--> statement-breakpoint
UPDATE "cis" SET "tenant" = "ci" ->> (SELECT "body" ->> 'tenantField' FROM "definitions" ORDER BY "version" DESC LIMIT 1);--> statement-breakpoint
UPDATE "measurements" m SET "tenant" = t."tenant" FROM "tickets" t WHERE m."subject_kind" = 'ticket' AND m."subject_id" = t."ticket_id";--> statement-breakpoint
UPDATE "measurement_segments" s SET "tenant" = t."tenant" FROM "tickets" t WHERE s."subject_kind" = 'ticket' AND s."subject_id" = t."ticket_id";--> statement-breakpoint
UPDATE "measurement_segments" s SET "tenant" = c."tenant" FROM "cis" c WHERE s."subject_kind" = 'ci' AND s."subject_id" = c."ci_id";--> statement-breakpoint
INSERT INTO "compliance_changes" ("subject_kind", "subject_id", "service_target_id", "instance")
  SELECT "subject_kind", "subject_id", "service_target_id", "instance" FROM "measurements" WHERE "subject_kind" = 'ticket'
  UNION SELECT DISTINCT "subject_kind", "subject_id", "service_target_id", "instance" FROM "measurement_segments" WHERE "subject_kind" = 'ci';--> statement-breakpoint
-- Row-level security (DESIGN §4.8): a connection that takes the role slm_tenant and sets slm.tenant
-- reads only that tenant's rows. The owner (the workers, the CLI) is not affected. Skipped with a
-- notice where the database user may not create roles; tenant-bound API tokens then fail to read.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'slm_tenant') THEN
    BEGIN
      CREATE ROLE slm_tenant NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- another database of this cluster created it just now
    END;
  END IF;
  BEGIN
    EXECUTE format('GRANT slm_tenant TO %I', current_user);
  EXCEPTION WHEN OTHERS THEN
    IF NOT pg_has_role(current_user, 'slm_tenant', 'MEMBER') THEN RAISE; END IF;
  END;
  GRANT SELECT ON "tickets", "measurements", "measurement_segments", "milestone_firings", "cis", "compliance_records", "compliance_settlements", "definitions" TO slm_tenant;
  ALTER TABLE "tickets" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "measurements" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "measurement_segments" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "milestone_firings" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "cis" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "compliance_records" ENABLE ROW LEVEL SECURITY;
  ALTER TABLE "compliance_settlements" ENABLE ROW LEVEL SECURITY;
  CREATE POLICY "tenant_rows" ON "tickets" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  CREATE POLICY "tenant_rows" ON "measurements" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  CREATE POLICY "tenant_rows" ON "measurement_segments" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  CREATE POLICY "tenant_rows" ON "milestone_firings" FOR SELECT TO slm_tenant USING (
    EXISTS (SELECT 1 FROM "measurements" m WHERE m."subject_kind" = "milestone_firings"."subject_kind" AND m."subject_id" = "milestone_firings"."subject_id"
      AND m."service_target_id" = "milestone_firings"."service_target_id" AND m."instance" = "milestone_firings"."instance"));
  CREATE POLICY "tenant_rows" ON "cis" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  -- A contract's records are its tenant's; records of an agreement over every tenant are not shown to a tenant.
  CREATE POLICY "tenant_rows" ON "compliance_records" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  CREATE POLICY "tenant_rows" ON "compliance_settlements" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
  CREATE POLICY "all_rows" ON "definitions" FOR SELECT TO slm_tenant USING (true);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'row-level security not set up (%): tenant-scoped reads are unavailable', SQLERRM;
END $$;
