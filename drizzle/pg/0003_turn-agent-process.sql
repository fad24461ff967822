ALTER TABLE "turns" ADD COLUMN "agent_pid" integer;--> statement-breakpoint
ALTER TABLE "turns" ADD COLUMN "agent_start_time" text;--> statement-breakpoint
ALTER TABLE "turns" ADD COLUMN "agent_marker" text;