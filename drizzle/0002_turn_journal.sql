CREATE TABLE `seen_updates` (
	`update_id` integer PRIMARY KEY NOT NULL,
	`seen_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `turns` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`thread_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`update_id` integer,
	`prompt` text NOT NULL,
	`attachments` text,
	`retry_of` integer,
	`answer` text,
	`state` text DEFAULT 'queued' NOT NULL,
	`stop_reason` text,
	`error` text,
	`interrupt_notified` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`started_at` text,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `turns_key_idx` ON `turns` (`chat_id`,`thread_id`,`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `turns_state_idx` ON `turns` (`state`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `last_activity_at` text;