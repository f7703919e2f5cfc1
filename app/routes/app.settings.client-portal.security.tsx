import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { json } from "@remix-run/cloudflare";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { z } from "zod";
import { formErrorOf, FormError, messageOf, Notice } from "~/components/form";
import { DEFAULT_SECURITY_MODE, MODE_LABELS, SECURITY_MODES, type SecurityMode } from "~/lib/domain";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { changeSecurityMode, countSessionsEndedBySwitch, setStaffTwoFactorRequired } from "~/server/portal/security-mode.server";
import {
  modeDescriptions,
  modeKeptAfterDowngrade,
  modeSwitchRefusal,
  secondFactorRequired,
  selectableModes,
  TWO_FACTOR_MODE,
} from "~/server/portal/portal-policy.server";
import { hasRecentAuth, requireAdmin, requireRecentAuth, staffPage } from "~/server/staff/staff-auth.server";
import { AdoptionSummary } from "~/components/adoption";
import { createReader } from "~/server/read-batch.server";
import { portalAdoption } from "~/server/staff/adoption.server";
import { sendTwoFactorHeadsUp } from "~/server/staff/heads-up.server";
import { deliverSoon } from "~/server/outbox-delivery.server";

export const meta: MetaFunction = () => [{ title: "Security and Two-Factor · Client Portal" }];

const PATH = "/app/settings/client-portal/security";

export async function loader({ request, context }: LoaderFunctionArgs) {
  // The adoption figures come in the session's round trip (issue 14).
  const { firm, staff, session, data: adoption } = await staffPage(request, context, (_firm, _staff, sessionId) => portalAdoption(context.read, { sessionId }));
  return {
    adoption,
    mode: firm.securityMode,
    slug: firm.slug,
    plan: firm.plan,
    selectable: selectableModes(firm),
    descriptions: modeDescriptions(),
    isAdmin: staff.role === "admin",
    recentAuth: hasRecentAuth(session),
    staffTwoFactorRequired: firm.staffTwoFactorRequired,
    downgradedWithTwoFactor: modeKeptAfterDowngrade(firm),
  };
}

// `from` is the mode the admin saw when reviewing: the confirmation applies only while it still holds.
const modeSchema = z.object({
  intent: z.enum(["review", "confirm"]),
  mode: z.enum(SECURITY_MODES, { message: "Choose one of the three options." }),
  from: z.enum(SECURITY_MODES).optional(),
});
const schema = z.discriminatedUnion("intent", [
  modeSchema,
  z.object({ intent: z.literal("staff-2fa"), required: z.enum(["yes", "no"]) }),
  z.object({ intent: z.literal("heads-up") }),
]);

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireAdmin(request, context);
  requireRecentAuth(auth, request, PATH);
  const body = await readForm(request);
  // A post without any intent is the mode form sent incomplete: its field errors, as a 422.
  const form = validateForm(body.has("intent") ? schema : modeSchema, body);
  if (!form.ok) return failure(form, { review: null });
  const data = form.data;
  if (data.intent === "staff-2fa") {
    const required = data.required === "yes";
    await setStaffTwoFactorRequired(context.db, auth, required, context.meta);
    return json({
      ok: true as const,
      message: required ? "Saved: every staff member now needs two-factor authentication." : "Saved: staff two-factor authentication is optional.",
      review: null,
    });
  }
  if (data.intent === "heads-up") {
    // Only where the 2FA mode can be chosen: the heads-up announces that switch.
    const refused = modeSwitchRefusal(auth.firm, TWO_FACTOR_MODE);
    if (refused) return failure(refused, { review: null });
    const sent = await sendTwoFactorHeadsUp(context.db, context.env, auth, context.meta);
    deliverSoon(context.env, context.ctx, context.db);
    const review = auth.firm.securityMode === TWO_FACTOR_MODE ? null : await reviewOf(context.db, auth.firm, TWO_FACTOR_MODE);
    return json({
      ok: true as const,
      message: `We emailed a heads-up to ${sent.emailed} ${sent.emailed === 1 ? "client" : "clients"}${sent.skipped ? ` (${sent.skipped} skipped: emailed 3 times in the last 10 minutes)` : ""}.`,
      review,
      headsUpSent: true,
    });
  }
  const { mode, intent, from } = data;
  const refused = modeSwitchRefusal(auth.firm, mode);
  if (refused) return failure(refused, { review: null });
  if (mode === auth.firm.securityMode) return json({ ok: true as const, message: "Nothing changed: this is already the firm's setting.", review: null });
  if (intent === "review") return json({ ok: true as const, message: null, review: await reviewOf(context.db, auth.firm, mode) });
  const result = await changeSecurityMode(context.db, auth, mode, context.meta, from);
  if (!result.ok) return failure(result, { review: null });
  // Another admin made the same switch a moment earlier.
  if (!result.changed) return json({ ok: true as const, message: "Nothing changed: this is already the firm's setting.", review: null });
  return json({
    ok: true as const,
    message: `Saved: clients now use “${MODE_LABELS[mode]}”. ${result.endedSessions} client ${result.endedSessions === 1 ? "session was" : "sessions were"} ended.`,
    review: null,
  });
}

/** What the confirmation says; for the 2FA mode, also who must create a login or enrol at their next visit. */
async function reviewOf(db: LoaderFunctionArgs["context"]["db"], firm: { id: string; securityMode: SecurityMode }, mode: SecurityMode) {
  const endedSessions = await countSessionsEndedBySwitch(db, firm.id, mode);
  // `from`: the mode the admin saw; the confirmation applies only while it still holds.
  if (!secondFactorRequired(mode)) return { mode, endedSessions, from: firm.securityMode, audience: null };
  const adoption = await portalAdoption(createReader(db), { firmId: firm.id });
  return { mode, endedSessions, from: firm.securityMode, audience: { withoutAccount: adoption.withoutAccount, mustEnrol: adoption.mustEnrol } };
}

export default function PortalSecuritySettings() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const review = result && "review" in result ? result.review : null;
  const locked = !data.isAdmin;
  return (
    <div className="narrow-wide">
      <p className="small">
        Settings › Client Portal › <strong>Security and Two-Factor</strong> · <AppLink to="/app/settings/audit-log">Audit log</AppLink>
      </p>
      <h1>Security and Two-Factor</h1>
      <p>
        One setting for all your clients. It takes effect on their very next click. <a href={`/portal/${data.slug}/help/two-factor`}>About two-factor authentication</a>
      </p>
      <Notice message={messageOf(result)} />
      <FormError message={formErrorOf(result)} />
      {data.downgradedWithTwoFactor ? (
        <Notice
          tone="warn"
          message="Your plan no longer includes two-factor authentication for clients. It stays on to keep your clients safe; if you switch to another option you cannot turn it back on without upgrading."
        />
      ) : null}
      {locked ? <Notice tone="warn" message="Only firm admins can change this setting." /> : null}
      <AdoptionSummary adoption={data.adoption} tableOpen />
      {review ? (
        <div className="card" role="region" aria-labelledby="confirm-heading">
          <h2 id="confirm-heading">Switch to “{MODE_LABELS[review.mode]}”?</h2>
          <p>{data.descriptions[review.mode].switchEffect}</p>
          <p>
            <strong>{`${review.endedSessions} client ${review.endedSessions === 1 ? "session" : "sessions"} will end.`}</strong>
          </p>
          {review.audience ? (
            <>
              <ul>
                <li>{`${review.audience.withoutAccount} ${review.audience.withoutAccount === 1 ? "client has" : "clients have"} no login yet: they create one and set up an authenticator app at their next visit.`}</li>
                <li>{`${review.audience.mustEnrol} ${review.audience.mustEnrol === 1 ? "client has" : "clients have"} a login without two-factor authentication: they set it up at their next sign-in.`}</li>
              </ul>
              {review.audience.withoutAccount + review.audience.mustEnrol > 0 ? (
                <Form method="post" className="row">
                  <input type="hidden" name="intent" value="heads-up" />
                  <button type="submit" className="secondary">
                    {`Email these ${review.audience.withoutAccount + review.audience.mustEnrol} clients a heads-up`}
                  </button>
                  {result && "headsUpSent" in result ? <span className="small">Heads-up sent.</span> : null}
                </Form>
              ) : null}
            </>
          ) : null}
          <Form method="post" className="row">
            <input type="hidden" name="mode" value={review.mode} />
            <input type="hidden" name="intent" value="confirm" />
            <input type="hidden" name="from" value={review.from} />
            <button type="submit">Confirm and save</button>
            <AppLink to={PATH}>Cancel</AppLink>
          </Form>
        </div>
      ) : (
        <Form method="post">
          <input type="hidden" name="intent" value="review" />
          <fieldset disabled={locked}>
            <legend>How clients get into the portal</legend>
            {SECURITY_MODES.map((mode) => {
              const unavailable = !data.selectable.includes(mode);
              return (
                <div className="choice" key={mode}>
                  <input
                    type="radio"
                    id={`mode-${mode}`}
                    name="mode"
                    value={mode}
                    defaultChecked={data.mode === mode}
                    disabled={unavailable}
                    aria-describedby={`mode-${mode}-help`}
                  />
                  <div>
                    <label htmlFor={`mode-${mode}`}>
                      {MODE_LABELS[mode]}
                      {mode === DEFAULT_SECURITY_MODE ? " (default)" : ""}
                    </label>
                    <p className="hint" id={`mode-${mode}-help`}>
                      {data.descriptions[mode].help}
                      {unavailable ? " Available on Business and Enterprise plans." : ""}
                    </p>
                  </div>
                </div>
              );
            })}
          </fieldset>
          {data.isAdmin && !data.recentAuth ? <p className="hint">You will be asked for your password before the change is saved.</p> : null}
          <button type="submit" disabled={locked}>
            Save
          </button>
        </Form>
      )}
      <Form method="post" className="card">
        <input type="hidden" name="intent" value="staff-2fa" />
        <fieldset disabled={locked}>
          <legend>Staff sign-in</legend>
          <div className="choice">
            <input
              type="checkbox"
              id="staff-2fa"
              name="required"
              value="yes"
              defaultChecked={data.staffTwoFactorRequired}
              aria-describedby="staff-2fa-help"
            />
            <div>
              <label htmlFor="staff-2fa">Require two-factor authentication for all staff</label>
              <p className="hint" id="staff-2fa-help">
                Staff without an authenticator app are asked to set one up at their next click.
              </p>
            </div>
          </div>
          <input type="hidden" name="required" value="no" />
        </fieldset>
        <button type="submit" className="secondary" disabled={locked}>
          Update staff sign-in
        </button>
      </Form>
    </div>
  );
}
