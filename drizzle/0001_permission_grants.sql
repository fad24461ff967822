CREATE TABLE `permission_grants` (
	`chat_id` integer NOT NULL,
	`thread_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`tool_kind` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`chat_id`, `thread_id`, `user_id`, `tool_kind`)
);
