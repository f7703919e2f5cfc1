// Shared steps of the portal's public forms, so each route stays a few lines.
import type { AppLoadContext } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { z } from "zod";
import { emailField } from "./fields";
import { readForm, validateForm } from "./forms.server";
import { allowEmailSend, requestLinkByEmail } from "./portal-accounts.server";
import type { Firm } from "./portal-auth.server";

const emailLinkSchema = z.object({ intent: z.literal("email-link"), email: emailField });

export const LINK_SENT_MESSAGE = "If this address belongs to one of our clients, we have emailed a link to it. It expires in 15 minutes.";
export const TOO_MANY_EMAILS = "Too many emails were requested. Wait 10 minutes and try again.";

/** The 429 every email-sending form answers once an address or IP has used its 3 emails in 10 minutes. */
export async function refuseIfEmailLimited(context: AppLoadContext, email: string) {
  if (await allowEmailSend(context.db, email, context.ip)) return null;
  return json({ ok: false as const, formError: TOO_MANY_EMAILS, fieldErrors: {}, sent: false as const }, { status: 429 });
}

/** "Email me a link" with a typed address: one answer for every address. */
export async function handleEmailLinkRequest(request: Request, context: AppLoadContext, firm: Firm, form?: FormData) {
  const parsed = validateForm(emailLinkSchema, form ?? (await readForm(request)));
  if (!parsed.ok) return json({ ...parsed, sent: false as const }, { status: 422 });
  const limited = await refuseIfEmailLimited(context, parsed.data.email);
  if (limited) return limited;
  requestLinkByEmail(context.db, context.env, context.ctx, firm, parsed.data.email, { ip: context.ip, userAgent: context.userAgent });
  return json({ ok: true as const, sent: true as const, message: LINK_SENT_MESSAGE });
}
