ALTER TABLE `turns` ADD `agent_pid` integer;--> statement-breakpoint
ALTER TABLE `turns` ADD `agent_start_time` text;--> statement-breakpoint
ALTER TABLE `turns` ADD `agent_marker` text;