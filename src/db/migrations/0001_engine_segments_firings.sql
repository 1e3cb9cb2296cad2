CREATE TABLE "action_log" (
	"key" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"detail" text,
	"executed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "measurement_segments" (
	"ticket_id" text NOT NULL,
	"service_target_id" text NOT NULL,
	"seq" integer NOT NULL,
	"status" text NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"stop_at" timestamp with time zone,
	"business_seconds" integer NOT NULL,
	"counts" text NOT NULL,
	"note" text,
	CONSTRAINT "measurement_segments_ticket_id_service_target_id_seq_pk" PRIMARY KEY("ticket_id","service_target_id","seq")
);
--> statement-breakpoint
CREATE TABLE "milestone_firings" (
	"ticket_id" text NOT NULL,
	"service_target_id" text NOT NULL,
	"milestone" text NOT NULL,
	"occurrence" integer NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"fired_at" timestamp with time zone NOT NULL,
	"skipped" text,
	"actions" jsonb NOT NULL,
	CONSTRAINT "milestone_firings_ticket_id_service_target_id_milestone_occurrence_pk" PRIMARY KEY("ticket_id","service_target_id","milestone","occurrence")
);
--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "definition_version" text;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "calendar_id" text;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "inherited_from" text;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "inherited_by" text;