// Every email the product sends, as plain text. Links are the only secrets in them and expire: a message
// that carries one returns it as `secretUrl` and holds SECRET_URL_PLACEHOLDER where it goes, so the
// outbox stores it sealed and renders it only at delivery (docs/decisions/008).
import type { AccessLinkPurpose } from "../../db/schema";
import { SECRET_URL_PLACEHOLDER, type EmailMessage, type EmailWithSecret } from "./outbox.server";

type FirmRef = { id: string; name: string };
type ContactRef = { name: string; email: string };

function greeting(name: string): string {
  return `Hello ${name.split(" ")[0] || name},`;
}

export function accessLinkEmail(input: {
  firm: FirmRef;
  contact: ContactRef;
  url: string;
  purpose: AccessLinkPurpose;
  requestTitle: string | null;
}): EmailWithSecret {
  const { firm, contact, url, purpose, requestTitle } = input;
  const subject =
    purpose === "invite"
      ? `${firm.name} invites you to their client portal`
      : requestTitle
        ? `${firm.name}: ${requestTitle}`
        : `Your link to the ${firm.name} client portal`;
  const validity = purpose === "self_service" ? "15 minutes" : "14 days";
  const lines = [
    greeting(contact.name),
    "",
    requestTitle ? `${firm.name} has sent you a request: ${requestTitle}.` : `Here is your link to the ${firm.name} client portal.`,
    purpose === "invite" ? "Open it to see your requests, and create a login if you would like one." : "",
    "",
    SECRET_URL_PLACEHOLDER,
    "",
    `The link works once, on the device where you open it, and expires in ${validity} if unused.`,
    "If you did not expect this email, you can ignore it.",
  ];
  return {
    firmId: firm.id,
    to: contact.email,
    subject,
    text: lines.filter((l, i, a) => l !== "" || a[i - 1] !== "").join("\n"),
    secretUrl: url,
  };
}

export function verifyEmailEmail(input: { firm: FirmRef; contact: ContactRef; url: string }): EmailWithSecret {
  return {
    firmId: input.firm.id,
    to: input.contact.email,
    subject: `Create your ${input.firm.name} portal login`,
    text: [
      greeting(input.contact.name),
      "",
      `Someone (hopefully you) asked to create a login for the ${input.firm.name} client portal with this address.`,
      "Open this link within 1 hour to choose your password:",
      "",
      SECRET_URL_PLACEHOLDER,
      "",
      "If this was not you, ignore this email; nothing changes.",
    ].join("\n"),
    secretUrl: input.url,
  };
}

export function accountExistsEmail(input: { firm: FirmRef; contact: ContactRef; resetUrl: string }): EmailWithSecret {
  return {
    firmId: input.firm.id,
    to: input.contact.email,
    subject: `You already have a ${input.firm.name} portal login`,
    text: [
      greeting(input.contact.name),
      "",
      `Someone asked to create a ${input.firm.name} portal login for this address, but you already have one.`,
      "If you have forgotten your password, you can choose a new one here (valid for 1 hour):",
      "",
      SECRET_URL_PLACEHOLDER,
    ].join("\n"),
    secretUrl: input.resetUrl,
  };
}

export function passwordResetEmail(input: { firm: FirmRef; contact: ContactRef; url: string }): EmailWithSecret {
  return {
    firmId: input.firm.id,
    to: input.contact.email,
    subject: `Reset your ${input.firm.name} portal password`,
    text: [
      greeting(input.contact.name),
      "",
      "Open this link within 1 hour to choose a new password. It works once.",
      "",
      SECRET_URL_PLACEHOLDER,
      "",
      "If you did not ask for this, ignore this email; your password stays the same.",
    ].join("\n"),
    secretUrl: input.url,
  };
}

export function securityNoticeEmail(input: { firm: FirmRef; to: string; name: string; subject: string; body: string[] }): EmailMessage {
  return {
    firmId: input.firm.id,
    to: input.to,
    subject: `${input.firm.name} portal: ${input.subject}`,
    text: [
      greeting(input.name),
      "",
      ...input.body,
      "",
      `If this was not you, contact ${input.firm.name} straight away.`,
    ].join("\n"),
  };
}

/** To the staff member who sent a request (or the firm's admins) when the client finishes it. */
export function requestCompletedEmail(input: {
  firm: FirmRef;
  to: { name: string; email: string };
  contact: ContactRef;
  requestTitle: string;
  url: string;
}): EmailMessage {
  return {
    firmId: input.firm.id,
    to: input.to.email,
    subject: `Request completed: ${input.requestTitle}`,
    text: [
      greeting(input.to.name),
      "",
      `${input.contact.name} (${input.contact.email}) has completed every item of "${input.requestTitle}".`,
      "",
      `Review it here: ${input.url}`,
    ].join("\n"),
  };
}
