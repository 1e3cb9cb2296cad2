CREATE TABLE "ci_kpis" (
	"ci_id" text PRIMARY KEY NOT NULL,
	"readings" jsonb NOT NULL,
	"sent" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cis" (
	"ci_id" text PRIMARY KEY NOT NULL,
	"ci" jsonb,
	"class" text,
	"state" text,
	"down" boolean DEFAULT false NOT NULL,
	"kpis" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"measurements" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rejected_changes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "measurement_segments" ADD COLUMN "business_ms" bigint;--> statement-breakpoint
CREATE INDEX "cis_state_idx" ON "cis" USING btree ("state");