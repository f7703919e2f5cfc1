CREATE TABLE `contact_import_problems` (
	`import_id` text NOT NULL,
	`firm_id` text NOT NULL,
	`row_number` integer NOT NULL,
	`outcome` text NOT NULL,
	`reason` text NOT NULL,
	`name` text,
	`email` text,
	`phone` text,
	`company` text,
	`notes` text,
	PRIMARY KEY(`import_id`, `row_number`)
);
--> statement-breakpoint
CREATE TABLE `contact_imports` (
	`id` text PRIMARY KEY NOT NULL,
	`firm_id` text NOT NULL,
	`created_by_staff_id` text NOT NULL,
	`created_by_label` text NOT NULL,
	`file_name` text NOT NULL,
	`file_size` integer NOT NULL,
	`object_key` text NOT NULL,
	`status` text DEFAULT 'ready' NOT NULL,
	`mode` text DEFAULT 'skip' NOT NULL,
	`mapping` text NOT NULL,
	`header` text NOT NULL,
	`total_rows` integer NOT NULL,
	`next_row` integer DEFAULT 0 NOT NULL,
	`created_count` integer DEFAULT 0 NOT NULL,
	`updated_count` integer DEFAULT 0 NOT NULL,
	`skipped_count` integer DEFAULT 0 NOT NULL,
	`failed_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	FOREIGN KEY (`firm_id`) REFERENCES `firms`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `contact_imports_firm_idx` ON `contact_imports` (`firm_id`,`created_at`);