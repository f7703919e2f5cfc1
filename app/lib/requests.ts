// Request vocabulary shared by the staff and portal pages.
export const ITEM_KIND_LABELS = { task: "Task", question: "Question", file: "File to upload" } as const;

export const STATUS_LABELS = { open: "Open", completed: "Completed" } as const;

export const SCHEDULE_LABELS = {
  none: "No automatic reminders",
  gentle: "Gentle: weekly before the due date, on it, then weekly",
  urgent: "Urgent: every 2 days before the due date, on it, then daily",
} as const;

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}
