CREATE TABLE "permission_grants" (
	"chat_id" bigint NOT NULL,
	"thread_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"tool_kind" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "permission_grants_chat_id_thread_id_user_id_tool_kind_pk" PRIMARY KEY("chat_id","thread_id","user_id","tool_kind")
);
--> statement-breakpoint
CREATE TABLE "seen_updates" (
	"update_id" bigint PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"chat_id" bigint NOT NULL,
	"thread_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"session_id" text,
	"workspace_path" text,
	"model" text DEFAULT 'auto' NOT NULL,
	"last_activity_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sessions_chat_id_thread_id_user_id_pk" PRIMARY KEY("chat_id","thread_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "shard_lease" (
	"shard" integer PRIMARY KEY NOT NULL,
	"worker_id" text DEFAULT '' NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"lease_until" timestamp with time zone DEFAULT 'epoch'::timestamptz NOT NULL
);
--> statement-breakpoint
CREATE TABLE "turns" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "turns_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"chat_id" bigint NOT NULL,
	"thread_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"update_id" bigint,
	"prompt" text NOT NULL,
	"attachments" jsonb,
	"retry_of" bigint,
	"answer" text,
	"state" text DEFAULT 'queued' NOT NULL,
	"stop_reason" text,
	"error" text,
	"interrupt_notified" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"lease_shard" integer,
	"lease_epoch" bigint,
	"worker_id" text
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"worker_id" text PRIMARY KEY NOT NULL,
	"alive_until" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "turns_key_idx" ON "turns" USING btree ("chat_id","thread_id","user_id","id");--> statement-breakpoint
CREATE INDEX "turns_state_idx" ON "turns" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "turns_update_idx" ON "turns" USING btree ("update_id") WHERE "turns"."update_id" is not null;