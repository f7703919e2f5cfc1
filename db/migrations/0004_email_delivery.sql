ALTER TABLE `firms` ADD `reply_to_email` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `html_body` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `failed_at` integer;--> statement-breakpoint
CREATE INDEX `outbox_recipient_idx` ON `outbox` (`firm_id`,`to_address`,`created_at`);