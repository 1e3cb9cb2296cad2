ALTER TABLE "measurements" RENAME COLUMN "ticket_id" TO "subject_id";--> statement-breakpoint
ALTER TABLE "measurements" ADD COLUMN "subject_kind" text DEFAULT 'ticket' NOT NULL;--> statement-breakpoint
ALTER TABLE "measurements" DROP CONSTRAINT "measurements_ticket_id_service_target_id_instance_pk";--> statement-breakpoint
ALTER TABLE "measurements" ADD CONSTRAINT "measurements_subject_kind_subject_id_service_target_id_instance_pk" PRIMARY KEY("subject_kind","subject_id","service_target_id","instance");--> statement-breakpoint
ALTER TABLE "measurement_segments" RENAME COLUMN "ticket_id" TO "subject_id";--> statement-breakpoint
ALTER TABLE "measurement_segments" ADD COLUMN "subject_kind" text DEFAULT 'ticket' NOT NULL;--> statement-breakpoint
ALTER TABLE "measurement_segments" DROP CONSTRAINT "measurement_segments_ticket_id_service_target_id_instance_seq_pk";--> statement-breakpoint
ALTER TABLE "measurement_segments" ADD CONSTRAINT "measurement_segments_subject_kind_subject_id_service_target_id_instance_seq_pk" PRIMARY KEY("subject_kind","subject_id","service_target_id","instance","seq");--> statement-breakpoint
ALTER TABLE "milestone_firings" RENAME COLUMN "ticket_id" TO "subject_id";--> statement-breakpoint
ALTER TABLE "milestone_firings" ADD COLUMN "subject_kind" text DEFAULT 'ticket' NOT NULL;--> statement-breakpoint
ALTER TABLE "milestone_firings" DROP CONSTRAINT "milestone_firings_ticket_id_service_target_id_instance_milestone_occurrence_pk";--> statement-breakpoint
ALTER TABLE "milestone_firings" ADD CONSTRAINT "milestone_firings_subject_kind_subject_id_service_target_id_instance_milestone_occurrence_pk" PRIMARY KEY("subject_kind","subject_id","service_target_id","instance","milestone","occurrence");
