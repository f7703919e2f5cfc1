CREATE TABLE `webauthn_challenges` (
	`challenge_hash` text PRIMARY KEY NOT NULL,
	`firm_id` text,
	`purpose` text NOT NULL,
	`bound_to` text NOT NULL,
	`user_handle` text,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webauthn_challenges_expires_idx` ON `webauthn_challenges` (`expires_at`);--> statement-breakpoint
CREATE TABLE `webauthn_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`firm_id` text NOT NULL,
	`portal_account_id` text,
	`staff_user_id` text,
	`credential_id` text NOT NULL,
	`user_handle` text NOT NULL,
	`public_key` text NOT NULL,
	`algorithm` integer NOT NULL,
	`sign_count` integer DEFAULT 0 NOT NULL,
	`backup_eligible` integer DEFAULT false NOT NULL,
	`backed_up` integer DEFAULT false NOT NULL,
	`transports` text,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`firm_id`) REFERENCES `firms`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "webauthn_credentials_one_owner" CHECK(("webauthn_credentials"."portal_account_id" IS NULL) <> ("webauthn_credentials"."staff_user_id" IS NULL))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webauthn_credentials_credential_id_unique` ON `webauthn_credentials` (`credential_id`);--> statement-breakpoint
CREATE INDEX `webauthn_credentials_account_idx` ON `webauthn_credentials` (`portal_account_id`);--> statement-breakpoint
CREATE INDEX `webauthn_credentials_staff_idx` ON `webauthn_credentials` (`staff_user_id`);