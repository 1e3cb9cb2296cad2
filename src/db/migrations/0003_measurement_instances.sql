ALTER TABLE "measurement_segments" ADD COLUMN "instance" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "instance" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "milestone_firings" ADD COLUMN "instance" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "rejected_changes" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "measurement_segments" DROP CONSTRAINT "measurement_segments_ticket_id_service_target_id_seq_pk";--> statement-breakpoint
ALTER TABLE "measurements" DROP CONSTRAINT "measurements_ticket_id_service_target_id_pk";--> statement-breakpoint
ALTER TABLE "milestone_firings" DROP CONSTRAINT "milestone_firings_ticket_id_service_target_id_milestone_occurrence_pk";--> statement-breakpoint
ALTER TABLE "measurement_segments" ADD CONSTRAINT "measurement_segments_ticket_id_service_target_id_instance_seq_pk" PRIMARY KEY("ticket_id","service_target_id","instance","seq");--> statement-breakpoint
ALTER TABLE "measurements" ADD CONSTRAINT "measurements_ticket_id_service_target_id_instance_pk" PRIMARY KEY("ticket_id","service_target_id","instance");--> statement-breakpoint
ALTER TABLE "milestone_firings" ADD CONSTRAINT "milestone_firings_ticket_id_service_target_id_instance_milestone_occurrence_pk" PRIMARY KEY("ticket_id","service_target_id","instance","milestone","occurrence");
