CREATE TABLE `invite_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`firm_id` text NOT NULL,
	`staff_user_id` text NOT NULL,
	`staff_email` text NOT NULL,
	`scope` text NOT NULL,
	`contact_ids` text,
	`cursor` text DEFAULT '' NOT NULL,
	`total` integer NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `invite_runs_firm_idx` ON `invite_runs` (`firm_id`,`finished_at`);--> statement-breakpoint
ALTER TABLE `contacts` ADD `company` text;--> statement-breakpoint
ALTER TABLE `contacts` ADD `notes` text;--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_firm_live_email_idx` ON `contacts` (`firm_id`,lower("email")) WHERE "contacts"."deleted_at" IS NULL;