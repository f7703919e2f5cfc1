// Links inside the app (ADR 022). Remix's <Link> and <NavLink> each run half a dozen hooks to resolve their
// path and wire a click handler; issue 14's profile put a link at ~0.16 ms of a page view's CPU, so the
// contacts list's 50 rows cost more than its query. An app link is a plain anchor with an absolute or
// query-only href, and one click handler for the whole document (useAppLinkNavigation, in root.tsx) turns a
// plain left click on it into the same client-side navigation <Link> makes. Without JavaScript, or before
// hydration, it is an ordinary link.
import { useEffect, type AnchorHTMLAttributes } from "react";
import { useLocation, useNavigate } from "@remix-run/react";

/** What marks an anchor as an app link for the document's click handler. */
const MARK = "data-app-link";

type AppLinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & {
  /** An absolute path ("/app/contacts"), or a query for the current page ("?cursor=…"). */
  to: string;
};

/** A link to a page of this app: server-rendered as a plain anchor, navigated client-side once hydrated. */
export function AppLink({ to, ...props }: AppLinkProps) {
  return <a {...props} href={to} data-app-link="" />;
}

/**
 * Whether `to` is the current page or one of its children, as <NavLink> decides without `end`: the path,
 * compared without case, equals `to` or continues it with "/".
 */
export function isCurrentPath(pathname: string, to: string): boolean {
  const path = pathname.toLowerCase();
  const target = to.toLowerCase().replace(/\/+$/, "");
  return path === target || path.startsWith(`${target}/`);
}

/** A navigation bar's links: the current page's gets aria-current="page" (what the style sheet marks). */
export function NavLinks({ links }: { links: ReadonlyArray<{ to: string; label: string }> }) {
  const { pathname } = useLocation();
  return (
    <>
      {links.map(({ to, label }) => (
        <AppLink key={to} to={to} aria-current={isCurrentPath(pathname, to) ? "page" : undefined}>
          {label}
        </AppLink>
      ))}
    </>
  );
}

/**
 * The one click handler behind every app link: a plain primary-button click (no modifier key, no other
 * target, not a download, not already handled) on a same-origin app link navigates client-side, replacing
 * the history entry when the link is the current URL, as <Link> does. Anything else is left to the browser.
 */
export function useAppLinkNavigation() {
  const navigate = useNavigate();
  useEffect(() => {
    function onClick(event: MouseEvent) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.altKey || event.ctrlKey || event.shiftKey) return;
      const anchor = event.target instanceof Element ? event.target.closest(`a[${MARK}]`) : null;
      if (!(anchor instanceof HTMLAnchorElement) || anchor.hasAttribute("download")) return;
      if (anchor.target && anchor.target !== "_self") return;
      const url = new URL(anchor.href);
      if (url.origin !== window.location.origin) return;
      event.preventDefault();
      const path = url.pathname + url.search + url.hash;
      const here = window.location.pathname + window.location.search + window.location.hash;
      navigate(path, { replace: path === here });
    }
    document.addEventListener("click", onClick);
    // Says the handler is live (browser tests wait for it before they tell a client-side navigation apart).
    document.documentElement.dataset.appLinks = "on";
    return () => {
      document.removeEventListener("click", onClick);
      delete document.documentElement.dataset.appLinks;
    };
  }, [navigate]);
}
