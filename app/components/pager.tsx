import { AppLink } from "~/components/app-link";

/** Keyset pagination's only control: a link to the next page, kept with the list's filters. */
export function NextPage({ params, label = "Next page" }: { params: URLSearchParams | null; label?: string }) {
  if (!params) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <AppLink to={`?${params.toString()}`}>{label}</AppLink>
    </nav>
  );
}
