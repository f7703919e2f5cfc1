// Every email the product sends, each as plain text and as simple HTML built from the same blocks, so
// the two always say the same thing. Links are the only secrets in them and expire: a message that
// carries one returns it as `secretUrl` and holds SECRET_URL_PLACEHOLDER where it goes (in both bodies),
// so the outbox stores it sealed and renders it only at delivery (docs/decisions/008).
//
// The HTML is deliberately plain: no images, no tracking, no layout tables, one column of paragraphs, and
// every link shown with readable text and its address, so it reads the same in any client and to a
// screen reader. Every value is HTML-escaped; the secret link is escaped when delivery fills it in.
import type { AccessLinkPurpose } from "../../db/schema";
import { escapeHtml } from "./outbox-render.server";
import { SECRET_URL_PLACEHOLDER, type EmailMessage, type EmailWithSecret } from "./outbox.server";

type FirmRef = { id: string; name: string };
type ContactRef = { name: string; email: string };

/** A paragraph (its lines kept together), or a link shown as text plus its address. */
type Block = string | string[] | { link: string; label: string };

function greeting(name: string): string {
  return `Hello ${name.split(" ")[0] || name},`;
}

/** Both bodies from one list of blocks, each ending with the firm's name. */
function compose(firm: FirmRef, subject: string, blocks: Block[]): { text: string; html: string } {
  const footer = `Sent by ${firm.name} through its client portal.`;
  const text = [...blocks, footer]
    .map((block) => (typeof block === "string" ? block : Array.isArray(block) ? block.join("\n") : block.link))
    .join("\n\n");
  const paragraphs = blocks.map((block) => {
    if (typeof block === "string") return `<p>${escapeHtml(block)}</p>`;
    if (Array.isArray(block)) return `<p>${block.map(escapeHtml).join("<br>\n")}</p>`;
    const href = escapeHtml(block.link);
    return `<p><a href="${href}">${escapeHtml(block.label)}</a></p>\n<p>If the link does not open, copy this address into your browser:<br>\n${href}</p>`;
  });
  const html = [
    "<!doctype html>",
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family: sans-serif; font-size: 16px; line-height: 1.5; max-width: 40em;">',
    ...paragraphs,
    `<hr>\n<p>${escapeHtml(footer)}</p>`,
    "</body>",
    "</html>",
  ].join("\n");
  return { text, html };
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
  const intro = [requestTitle ? `${firm.name} has sent you a request: ${requestTitle}.` : `Here is your link to the ${firm.name} client portal.`];
  if (purpose === "invite") intro.push("Open it to see your requests, and create a login if you would like one.");
  const bodies = compose(firm, subject, [
    greeting(contact.name),
    intro,
    { link: SECRET_URL_PLACEHOLDER, label: `Open the ${firm.name} client portal` },
    [`The link works once, on the device where you open it, and expires in ${validity} if unused.`, "If you did not expect this email, you can ignore it."],
  ]);
  return { firmId: firm.id, to: contact.email, subject, ...bodies, secretUrl: url };
}

export function verifyEmailEmail(input: { firm: FirmRef; contact: ContactRef; url: string }): EmailWithSecret {
  const subject = `Create your ${input.firm.name} portal login`;
  const bodies = compose(input.firm, subject, [
    greeting(input.contact.name),
    [
      `Someone (hopefully you) asked to create a login for the ${input.firm.name} client portal with this address.`,
      "Open this link within 1 hour to choose your password:",
    ],
    { link: SECRET_URL_PLACEHOLDER, label: "Choose your password" },
    "If this was not you, ignore this email; nothing changes.",
  ]);
  return { firmId: input.firm.id, to: input.contact.email, subject, ...bodies, secretUrl: input.url };
}

export function accountExistsEmail(input: { firm: FirmRef; contact: ContactRef; resetUrl: string }): EmailWithSecret {
  const subject = `You already have a ${input.firm.name} portal login`;
  const bodies = compose(input.firm, subject, [
    greeting(input.contact.name),
    [
      `Someone asked to create a ${input.firm.name} portal login for this address, but you already have one.`,
      "If you have forgotten your password, you can choose a new one here (valid for 1 hour):",
    ],
    { link: SECRET_URL_PLACEHOLDER, label: "Choose a new password" },
  ]);
  return { firmId: input.firm.id, to: input.contact.email, subject, ...bodies, secretUrl: input.resetUrl };
}

export function passwordResetEmail(input: { firm: FirmRef; contact: ContactRef; url: string }): EmailWithSecret {
  const subject = `Reset your ${input.firm.name} portal password`;
  const bodies = compose(input.firm, subject, [
    greeting(input.contact.name),
    "Open this link within 1 hour to choose a new password. It works once.",
    { link: SECRET_URL_PLACEHOLDER, label: "Choose a new password" },
    "If you did not ask for this, ignore this email; your password stays the same.",
  ]);
  return { firmId: input.firm.id, to: input.contact.email, subject, ...bodies, secretUrl: input.url };
}

export function securityNoticeEmail(input: { firm: FirmRef; to: string; name: string; subject: string; body: string[] }): EmailMessage {
  const subject = `${input.firm.name} portal: ${input.subject}`;
  const bodies = compose(input.firm, subject, [
    greeting(input.name),
    input.body,
    `If this was not you, contact ${input.firm.name} straight away.`,
  ]);
  return { firmId: input.firm.id, to: input.to, subject, ...bodies };
}

/** To the staff member who sent a request (or the firm's admins) when the client finishes it. */
export function requestCompletedEmail(input: {
  firm: FirmRef;
  to: { name: string; email: string };
  contact: ContactRef;
  requestTitle: string;
  url: string;
}): EmailMessage {
  const subject = `Request completed: ${input.requestTitle}`;
  const bodies = compose(input.firm, subject, [
    greeting(input.to.name),
    `${input.contact.name} (${input.contact.email}) has completed every item of "${input.requestTitle}".`,
    "Review it here:",
    { link: input.url, label: `Review "${input.requestTitle}"` },
  ]);
  return { firmId: input.firm.id, to: input.to.email, subject, ...bodies };
}
