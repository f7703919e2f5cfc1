// The magic-link landing page. GET and HEAD only show what "Continue" would do here and change nothing
// (mail scanners prefetch links and must not use them up). The POST from "Continue" claims an unclaimed
// link for this browser, or reopens a link this browser claimed; the POST from "Email me a new link"
// mails a fresh link to the contact's address on file.
import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json, redirect } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { Notice } from "~/components/form";
import { accessLinkPage, claimAccessLink, type LinkState } from "~/server/portal/access-links.server";
import { deviceOf } from "~/server/auth/devices.server";
import { parseForm } from "~/server/forms.server";
import { allowEmailSend } from "~/server/portal/account-tokens.server";
import { requestLinkForRecord } from "~/server/portal/link-requests.server";
import { pathForAccess, portalAccess, portalPath, portalSessionCookie } from "~/server/portal/portal-auth.server";

// The token is in the URL: never leak it in a Referer, never let a cache keep the page.
const TOKEN_PAGE_HEADERS = { "Referrer-Policy": "no-referrer", "Cache-Control": "no-store" };
export const headers: HeadersFunction = () => TOKEN_PAGE_HEADERS;

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.firmName && data.state === "continue" ? `Continue to ${data.firmName} portal` : "Portal link" },
  { name: "referrer", content: "no-referrer" },
];


type PageState = "continue" | "claimed_elsewhere" | "expired" | "unknown";

/** The page for a link state: the GET shows what the POST would do in this browser. */
function pageState(state: LinkState): PageState {
  return state === "claimable" || state === "open_here" ? "continue" : state;
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const device = deviceOf(request);
  const page = await accessLinkPage(context.db, params.token ?? "", device.id);
  const headers = new Headers(TOKEN_PAGE_HEADERS);
  if (device.cookie) headers.append("Set-Cookie", device.cookie);
  return json({ state: pageState(page.state), firmName: page.firmName }, { status: page.state === "unknown" ? 404 : 200, headers });
}

const schema = z.discriminatedUnion("intent", [z.object({ intent: z.literal("continue") }), z.object({ intent: z.literal("new-link") })]);

export async function action({ request, params, context }: ActionFunctionArgs) {
  // This page answers with the link's state (not formError): its view is chosen by `state`.
  const form = await parseForm(request, schema, { unknownIntent: "Use the button on this page." });
  if (!form.ok) return json({ state: "error" as const, message: form.error }, { status: form.status, headers: TOKEN_PAGE_HEADERS });
  const token = params.token ?? "";
  const device = deviceOf(request);
  const headers = new Headers(TOKEN_PAGE_HEADERS);
  if (device.cookie) headers.append("Set-Cookie", device.cookie);

  if (form.data.intent === "new-link") {
    const page = await accessLinkPage(context.db, token, device.id);
    if (!page.contactId || !page.firmId) return json({ state: "unknown" as const, message: null }, { status: 404, headers });
    const record = { firmId: page.firmId, contactId: page.contactId };
    // Nothing typed: the new link goes to the address on file, so there is nothing to enumerate.
    if (!(await allowEmailSend(context.db, `contact:${record.contactId}`, context.meta.ip))) {
      return json({ state: "sent" as const, message: "We have sent several links already. Check your inbox, or try again in 10 minutes." }, { status: 429, headers });
    }
    requestLinkForRecord(context.db, context.env, context.ctx, record, context.meta);
    return json({ state: "sent" as const, message: "We have emailed you a new link. It expires in 15 minutes." }, { headers });
  }

  const result = await claimAccessLink(context.db, { token, deviceId: device.id, ...context.meta });
  if (result.status !== "claimed") {
    const status = result.status === "unknown" ? 404 : 410;
    return json({ state: result.status, message: null }, { status, headers });
  }
  headers.append("Set-Cookie", portalSessionCookie(result.token, result.link.sessionExpiresAt!));
  // Where the client goes depends on the firm's mode: in 2FA mode a link only identifies them.
  // A link sent with a request opens that request once access is granted.
  const access = portalAccess(result.auth, result.firm.slug);
  const target =
    access.status === "granted" && result.link.requestId
      ? portalPath(result.firm.slug, `/requests/${encodeURIComponent(result.link.requestId)}`)
      : pathForAccess(result.firm.slug, access);
  return redirect(target, { headers });
}

export default function AccessLinkLanding() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const state = result?.state ?? page.state;
  const firmName = page.firmName ?? "your firm's";

  if (state === "unknown") {
    return (
      <main id="main" className="narrow">
        <h1>This link is not valid</h1>
        <p>Check that you copied the whole link from the email, or ask your firm to send you a new one.</p>
      </main>
    );
  }
  if (state === "sent" || state === "error") {
    return (
      <main id="main" className="narrow">
        <h1>Check your email</h1>
        <Notice message={result?.message} tone={state === "error" ? "warn" : "ok"} />
      </main>
    );
  }
  if (state === "claimed_elsewhere" || state === "expired") {
    return (
      <main id="main" className="narrow">
        <h1>{state === "expired" ? "This link has expired" : "This link was opened on another device"}</h1>
        <p>
          {state === "expired"
            ? "For your security, portal links stop working after a while."
            : "For your security, each link works only in the browser where it was first opened."}{" "}
          We can email a new link to the address {firmName === "your firm's" ? "your firm" : firmName} has on file for you.
        </p>
        <Form method="post">
          <input type="hidden" name="intent" value="new-link" />
          <button type="submit">Email me a new link</button>
        </Form>
      </main>
    );
  }
  return (
    <main id="main" className="narrow">
      <h1>Continue to {firmName} portal</h1>
      <p>Select Continue to open your requests in this browser.</p>
      <Form method="post">
        <input type="hidden" name="intent" value="continue" />
        <button type="submit">Continue</button>
      </Form>
    </main>
  );
}
