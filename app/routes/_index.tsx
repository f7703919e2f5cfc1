import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";

export async function loader({ context }: LoaderFunctionArgs) {
  throw redirect((await context.auth.staff()) ? "/app/contacts" : "/login");
}
