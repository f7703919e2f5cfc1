import type { Database } from "~/server/db.server";
import type { PortalAuth } from "~/server/portal/portal-auth.server";
import type { Read } from "~/server/read-batch.server";
import type { RequestMeta } from "~/server/request-meta.server";
import type { StaffAuth } from "~/server/staff/staff-auth.server";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      LINKS: KVNamespace;
      FILES: R2Bucket;
      ENVIRONMENT: string;
      APP_URL: string;
      EMAIL_FROM: string;
      /** `k<n>:` + base64 of 32 bytes (bare base64 = key id k0): AES-GCM key for TOTP secrets at rest. A Worker secret. */
      TOTP_ENCRYPTION_KEY: string;
      /** Earlier TOTP keys, comma-separated `k<n>:<base64>`, for reading only during a rotation (ADR 017). A Worker secret. */
      TOTP_ENCRYPTION_KEYS_RETIRED?: string;
      /** `k<n>:` + base64 of 32 bytes (bare base64 = key id k0): HMAC key for recovery codes. A Worker secret. */
      RECOVERY_CODE_KEY: string;
      /** Earlier recovery-code keys, comma-separated `k<n>:<base64>`, kept while unused codes need them (ADR 017). A Worker secret. */
      RECOVERY_CODE_KEYS_RETIRED?: string;
      /** The email provider's API base URL (Resend: https://api.resend.com; docs/decisions/014). A plain var. */
      EMAIL_API_URL?: string;
      /** The provider's API key. A Worker secret. Without URL and key, mail stays queued (outside development). */
      EMAIL_API_KEY?: string;
    }
  }
  interface Env extends Cloudflare.Env {}
}

declare module "@remix-run/cloudflare" {
  interface AppLoadContext {
    env: Env;
    ctx: ExecutionContext;
    db: Database;
    /**
     * Runs a query in the request's next D1 batch: queries asked for while the loaders start go out
     * together, so the session and the page's data take one round trip (read-batch.server.ts).
     */
    read: Read;
    /** Per-response CSP nonce for the inline scripts Remix writes. */
    nonce: string;
    /** The client's IP (from CF-Connecting-IP only: X-Forwarded-For is client-controlled) and user agent. */
    meta: RequestMeta;
    /** The request's sessions, looked up at most once per request. */
    auth: { staff: () => Promise<StaffAuth | null>; portal: () => Promise<PortalAuth | null> };
  }
}

export {};
