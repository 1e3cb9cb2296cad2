CREATE TABLE "compliance_points" (
	"scope" text NOT NULL,
	"review_period" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"slice" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"percent" double precision,
	"tenant" text,
	CONSTRAINT "compliance_points_scope_review_period_period_start_slice_pk" PRIMARY KEY("scope","review_period","period_start","slice")
);
--> statement-breakpoint
DROP INDEX "tickets_state_idx";--> statement-breakpoint
CREATE INDEX "tickets_priority_idx" ON "tickets" USING btree ("priority","ticket_id");--> statement-breakpoint
CREATE INDEX "tickets_last_sync_idx" ON "tickets" USING btree ("last_sync_at","ticket_id");--> statement-breakpoint
CREATE INDEX "tickets_updated_idx" ON "tickets" USING btree ("updated_at","ticket_id");--> statement-breakpoint
CREATE INDEX "tickets_state_idx" ON "tickets" USING btree ("state","ticket_id");--> statement-breakpoint
DO $$
BEGIN
  GRANT SELECT ON "compliance_points" TO slm_tenant;
  ALTER TABLE "compliance_points" ENABLE ROW LEVEL SECURITY;
  CREATE POLICY "tenant_rows" ON "compliance_points" FOR SELECT TO slm_tenant USING ("tenant" = current_setting('slm.tenant', true));
EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
  RAISE NOTICE 'row-level security not set up on compliance_points (%)', SQLERRM;
END $$;
--> statement-breakpoint
-- The tickets table's filter (a substring of the id, state or incident number) through trigram indexes;
-- without the pg_trgm extension (not allowed on this server) the filter still works, by a scan.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS "tickets_id_trgm_idx" ON "tickets" USING gin ("ticket_id" gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS "tickets_state_trgm_idx" ON "tickets" USING gin ("state" gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS "tickets_incident_trgm_idx" ON "tickets" USING gin ("incident_number" gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
  RAISE NOTICE 'pg_trgm not available (%): the tickets filter scans', SQLERRM;
END $$;
