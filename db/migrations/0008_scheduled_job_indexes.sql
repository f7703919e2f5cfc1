CREATE INDEX `contact_imports_status_idx` ON `contact_imports` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `invite_runs_open_idx` ON `invite_runs` (`finished_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `rate_limits_window_idx` ON `rate_limits` (`window_start`);