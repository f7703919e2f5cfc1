// Shared steps of the portal's public forms, so each route stays a few lines.
import type { AppLoadContext } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { emailField } from "../fields";
import { failure, readForm, validateForm } from "../forms.server";
import { allowEmailSend } from "./account-tokens.server";
import { requestLinkByEmail } from "./link-requests.server";
import type { Firm } from "../types";

export const LINK_SENT_MESSAGE = "If this address belongs to one of our clients, we have emailed a link to it. It expires in 15 minutes.";
export const TOO_MANY_EMAILS = "Too many emails were requested. Wait 10 minutes and try again.";

/**
 * Every form that emails a typed address: validate it, apply the 3-per-10-minutes limits (per address and
 * per IP), start the work after the response, and give the same answer whether or not the address is known.
 */
export async function handleEmailRequest(
  context: AppLoadContext,
  form: FormData,
  start: (email: string) => void,
  message: string,
) {
  const parsed = validateForm(z.object({ email: emailField }), form);
  if (!parsed.ok) return failure(parsed, { sent: false as const });
  if (!(await allowEmailSend(context.db, parsed.data.email, context.meta.ip))) return failure(429, TOO_MANY_EMAILS, { sent: false as const });
  start(parsed.data.email);
  return json({ ok: true as const, sent: true as const, message });
}

/** "Email me a link" with a typed address. */
export async function handleEmailLinkRequest(request: Request, context: AppLoadContext, firm: Firm, form?: FormData) {
  return handleEmailRequest(
    context,
    form ?? (await readForm(request)),
    (email) => requestLinkByEmail(context.db, context.env, context.ctx, firm, email, context.meta),
    LINK_SENT_MESSAGE,
  );
}
