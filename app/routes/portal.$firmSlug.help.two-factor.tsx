import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { requirePortalFirm } from "~/server/portal/portal-auth.server";

export const meta: MetaFunction = () => [{ title: "Two-factor authentication · Client portal" }];

export async function loader({ params, context }: LoaderFunctionArgs) {
  const firm = await requirePortalFirm(context.db, params.firmSlug, context.read);
  return { firm: { name: firm.name, slug: firm.slug } };
}

const APPS = ["Google Authenticator", "Microsoft Authenticator", "Okta Verify", "Authy", "1Password", "Bitwarden", "any app that supports TOTP codes"];

export default function TwoFactorHelp() {
  const { firm } = useLoaderData<typeof loader>();
  return (
    <article className="narrow-wide">
      <h1>Two-factor authentication</h1>
      <p>
        Two-factor authentication (2FA) protects your {firm.name} portal account with two things: your password, and a 6-digit code from
        an app on your phone. Someone who learns your password still cannot get in without your phone.
      </p>
      <h2>What you need</h2>
      <p>An authenticator app. Any of these works:</p>
      <ul>
        {APPS.map((app) => (
          <li key={app}>{app}</li>
        ))}
      </ul>
      <h2>How it works</h2>
      <ol>
        <li>When you set it up, the portal shows a QR code. Scan it with your app (or type the key shown under it).</li>
        <li>The app shows a new 6-digit code every 30 seconds. Type the current one to finish.</li>
        <li>Save your 10 recovery codes somewhere safe. Each one lets you in once if you lose your phone.</li>
        <li>From then on, after your password the portal asks for the code from your app.</li>
      </ol>
      <h2>Lost your phone?</h2>
      <p>
        Use one of your recovery codes on the sign-in page (“Use a recovery code”), then set up 2FA again. If you have no recovery code
        left, contact {firm.name}: they can reset two-factor authentication for you.
      </p>
      <p>
        <AppLink to={`/portal/${firm.slug}`}>Back to the portal</AppLink>
      </p>
    </article>
  );
}
