ALTER TABLE `outbox` ADD `sealed_secret` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `claimed_until` integer;--> statement-breakpoint
ALTER TABLE `outbox` ADD `claimed_by` text;--> statement-breakpoint
-- Messages delivered before secrets were sealed hold live links in their bodies: keep the record, drop the body.
UPDATE `outbox` SET `text_body` = '(body removed: it was stored before links were sealed)' WHERE `sent_at` IS NOT NULL;
