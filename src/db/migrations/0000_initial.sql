CREATE TABLE "definitions" (
	"version" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "definitions_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"body" jsonb NOT NULL,
	"digest" text NOT NULL,
	"source" text,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "measurements" (
	"ticket_id" text NOT NULL,
	"service_target_id" text NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	"due_at" timestamp with time zone,
	"missed_goal_at" timestamp with time zone,
	"goal_seconds" integer NOT NULL,
	"elapsed_seconds" integer NOT NULL,
	"paused_seconds" integer NOT NULL,
	"met_missed_seconds" integer NOT NULL,
	"impact_cost" double precision,
	"reason" text,
	"engine_state" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "measurements_ticket_id_service_target_id_pk" PRIMARY KEY("ticket_id","service_target_id")
);
--> statement-breakpoint
CREATE TABLE "tickets" (
	"ticket_id" text PRIMARY KEY NOT NULL,
	"ticket" jsonb NOT NULL,
	"state" text,
	"priority" integer,
	"problem_id" text,
	"incident_number" text,
	"link" text,
	"problem_status" text,
	"last_sync_at" timestamp with time zone,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "measurements_status_idx" ON "measurements" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tickets_state_idx" ON "tickets" USING btree ("state");