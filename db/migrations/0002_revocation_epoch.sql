ALTER TABLE `access_links` ADD `sent_to` text;--> statement-breakpoint
ALTER TABLE `access_links` ADD `credential_epoch` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `account_tokens` ADD `credential_epoch` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `contacts` ADD `credential_epoch` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Links sent before this migration: their address is the contact's current one unless a login-email change
-- came after the link (the only way a contact's address changes); those keep sent_to NULL and open nothing.
UPDATE `access_links` SET `sent_to` = (SELECT `email` FROM `contacts` WHERE `contacts`.`id` = `access_links`.`contact_id`)
WHERE NOT EXISTS (
  SELECT 1 FROM `audit_events` WHERE `audit_events`.`contact_id` = `access_links`.`contact_id`
  AND `audit_events`.`type` = 'client.login_email_changed' AND `audit_events`.`at` >= `access_links`.`created_at`
);
