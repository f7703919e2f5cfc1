// RFC 9116 security.txt: where to report a vulnerability (docs/security.md, "Reporting a vulnerability").
// Expires is one year after the last review of docs/security.md; a test fails once it has passed, so the
// file is reviewed at least yearly instead of going stale.
import type { LoaderFunctionArgs } from "@remix-run/cloudflare";

export const SECURITY_TXT_REVIEWED = "2026-11-29";

export function loader({ context }: LoaderFunctionArgs) {
  const origin = new URL(context.env.APP_URL).origin;
  const expires = new Date(Date.parse(`${SECURITY_TXT_REVIEWED}T00:00:00Z`) + 365 * 24 * 60 * 60_000).toISOString();
  const body = [
    `Contact: mailto:security@${new URL(origin).hostname}`,
    `Expires: ${expires}`,
    "Preferred-Languages: en",
    `Canonical: ${origin}/.well-known/security.txt`,
    "",
  ].join("\n");
  return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "public, max-age=86400" } });
}
