import { redirect } from "@remix-run/cloudflare";

export function loader() {
  throw redirect("/app/contacts");
}
