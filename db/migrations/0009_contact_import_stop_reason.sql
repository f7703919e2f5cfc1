ALTER TABLE `contact_imports` ADD `stop_reason` text;--> statement-breakpoint
ALTER TABLE `contact_imports` ADD `stopped_by_label` text;--> statement-breakpoint
-- Imports stopped before the reason was recorded: the scheduled job stops them a week (604800000 ms) after upload, so an earlier stop was someone's "Stop the import".
UPDATE `contact_imports` SET `stop_reason` = CASE WHEN `completed_at` - `created_at` >= 604800000 THEN 'abandoned' ELSE 'cancelled' END WHERE `status` = 'cancelled';
