CREATE TABLE `mcp_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`chat_id` integer NOT NULL,
	`thread_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `mcp_tokens_key_idx` ON `mcp_tokens` (`chat_id`,`thread_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`chat_id` integer NOT NULL,
	`thread_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`prompt` text NOT NULL,
	`cron` text,
	`time_zone` text NOT NULL,
	`next_run_at` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `schedules_key_idx` ON `schedules` (`chat_id`,`thread_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `schedules_next_idx` ON `schedules` (`next_run_at`);