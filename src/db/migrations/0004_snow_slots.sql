CREATE TABLE "snow_slots" (
	"slot" integer PRIMARY KEY NOT NULL,
	"holder" text,
	"expires_at" timestamp with time zone DEFAULT now() NOT NULL
);
