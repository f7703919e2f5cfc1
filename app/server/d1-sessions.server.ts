// Which copy of the database a request may read: D1 read replication through the Sessions API (issue 14).
// The rules, and why a request with a session cookie reads the primary, are in
// docs/decisions/020-read-replicas-and-consistency.md. In short: a replica may be behind, and nothing a
// replica returns can prove that it has seen a revocation, so anything whose answer must include the latest
// revocation, claim or counter reads the primary; pages that no session protects read the nearest replica,
// at least as new as the browser's own last write (its bookmark).
import { PORTAL_SESSION_COOKIE, STAFF_SESSION_COOKIE, readCookie, setCookie } from "./cookies.server";

/** The browser's D1 bookmark: the database state of its last write, so its next read is never older. */
export const BOOKMARK_COOKIE = "__Host-db_bookmark";
const BOOKMARK_MAX_AGE_S = 24 * 60 * 60;
/** D1 bookmarks are hex groups joined by dashes; anything else in the cookie is ignored, not sent to D1. */
const BOOKMARK_SHAPE = /^[0-9a-f]{1,64}(?:-[0-9a-f]{1,64}){0,7}$/i;

export type ReadFrom = { constraint: D1SessionConstraint | D1SessionBookmark; why: string };

/** Where the request reads from; `why` names the rule (tests and logs show it). */
export function readFrom(request: Request): ReadFrom {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return { constraint: "first-primary", why: "a write" };
  const path = new URL(request.url).pathname;
  // Claiming a link is a write, and whether it is claimed already must be the latest answer.
  if (path.startsWith("/l/")) return { constraint: "first-primary", why: "a link claim" };
  // A session's check must see every revocation (SECURITY.md rule 27); its page's data rides in the same batch.
  if (readCookie(request, STAFF_SESSION_COOKIE) || readCookie(request, PORTAL_SESSION_COOKIE)) {
    return { constraint: "first-primary", why: "a session check" };
  }
  const bookmark = readCookie(request, BOOKMARK_COOKIE);
  if (bookmark && BOOKMARK_SHAPE.test(bookmark)) return { constraint: bookmark, why: "the browser's bookmark" };
  return { constraint: "first-unconstrained", why: "a public page" };
}

/**
 * The request's D1 session, opened by `readFrom`'s rule. After a write, `bookmarkCookie` gives the cookie
 * that keeps the browser's later public reads at least that new (read-your-writes).
 */
export function openD1(binding: D1Database, request: Request) {
  const from = readFrom(request);
  const session = binding.withSession(from.constraint);
  return {
    from,
    d1: session as unknown as D1Database,
    bookmarkCookie(): string | null {
      if (from.why !== "a write" && from.why !== "a link claim") return null;
      const bookmark = session.getBookmark();
      return bookmark && BOOKMARK_SHAPE.test(bookmark) ? setCookie(BOOKMARK_COOKIE, bookmark, BOOKMARK_MAX_AGE_S) : null;
    },
  };
}
