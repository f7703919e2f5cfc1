// Passkey buttons. They render only once the page runs JavaScript in a browser that has WebAuthn, so
// without JavaScript the password forms are all there is (and still work). Each ceremony asks the server
// for options, lets the browser talk to the authenticator (@simplewebauthn/browser), and sends the answer
// back; the server decides everything and says where to go next.
import {
  WebAuthnAbortService,
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
} from "@simplewebauthn/browser";
import { useEffect, useRef, useState } from "react";
import { FormError } from "./form";

type Answer = { ok: true; options?: never; redirectTo?: string } | { ok: false; error: string };
type OptionsAnswer = { ok: true; options: never } | { ok: false; error: string };

async function post<T>(action: string, body: object): Promise<T | { ok: false; error: string }> {
  try {
    const response = await fetch(action, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    return ((await response.json()) as T) ?? { ok: false, error: "Something went wrong. Try again." };
  } catch {
    return { ok: false, error: "Something went wrong. Check your connection and try again." };
  }
}

/** What to tell the person when the browser's ceremony did not finish. */
function ceremonyError(error: unknown): string | null {
  const name = error instanceof Error ? error.name : "";
  // A ceremony replaced by another (the button after the autofill one) is not an error to show.
  if (name === "AbortError") return null;
  if (name === "NotAllowedError") return "The passkey request was cancelled or timed out. Try again.";
  if (name === "InvalidStateError") return "This device already has a passkey for your account.";
  return "Your browser could not use a passkey. Try again, or sign in another way.";
}

/** One ceremony at a time: its button is disabled while it runs, and what went wrong (if anything) is shown. */
function useCeremony() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(ceremony: () => Promise<string | null>) {
    setBusy(true);
    setError(await ceremony());
    setBusy(false);
  }
  return { error, setError, busy, run };
}

function useWebAuthn(): boolean {
  const [supported, setSupported] = useState(false);
  useEffect(() => setSupported(browserSupportsWebAuthn()), []);
  return supported;
}

/** Runs an assertion ceremony (`intent` names the server step) and follows the server's redirect. */
async function authenticate(action: string, intent: "sign-in" | "step", autofill = false, extra: Record<string, string> = {}): Promise<string | null> {
  const options = await post<OptionsAnswer>(action, { intent: `${intent}-options` });
  if (!options.ok) return options.error;
  let credential;
  try {
    credential = await startAuthentication({ optionsJSON: options.options, useBrowserAutofill: autofill });
  } catch (error) {
    return autofill ? null : ceremonyError(error);
  }
  const done = await post<Answer>(action, { ...extra, intent, credential });
  if (!done.ok) return done.error;
  window.location.assign(done.redirectTo ?? "/");
  return null;
}

/**
 * "Sign in with a passkey": a discoverable credential, so no email is typed. Where the browser offers
 * passkeys in the email field's autofill (conditional mediation), that is started too.
 */
export function PasskeySignIn({ action, redirectTo }: { action: string; redirectTo?: string }) {
  const supported = useWebAuthn();
  const { error, setError, busy, run } = useCeremony();
  const autofillStarted = useRef(false);
  useEffect(() => {
    if (!supported || autofillStarted.current) return;
    autofillStarted.current = true;
    void browserSupportsWebAuthnAutofill().then((autofill) => {
      if (!autofill || !document.querySelector("input[autocomplete~='webauthn']")) return;
      void authenticate(action, "sign-in", true, redirectTo ? { redirectTo } : {}).then((message) => message && setError(message));
    });
    return () => WebAuthnAbortService.cancelCeremony();
  }, [supported, action, redirectTo, setError]);
  if (!supported) return null;
  return (
    <section className="card" aria-labelledby="passkey-heading">
      <h2 id="passkey-heading">Passkey</h2>
      <p className="hint">Use the fingerprint, face or screen lock of your device. No email or password to type.</p>
      <FormError message={error} />
      <button
        type="button"
        disabled={busy}
        onClick={() => run(() => authenticate(action, "sign-in", false, redirectTo ? { redirectTo } : {}))}
      >
        Sign in with a passkey
      </button>
    </section>
  );
}

/** "Use your passkey": the second step after a password, or confirming who you are. */
export function PasskeyStep({ action, label = "Use your passkey", redirectTo }: { action: string; label?: string; redirectTo?: string }) {
  const supported = useWebAuthn();
  const { error, busy, run } = useCeremony();
  if (!supported) return null;
  return (
    <div className="passkey-step">
      <FormError message={error} />
      <button
        type="button"
        disabled={busy}
        onClick={() => run(() => authenticate(action, "step", false, redirectTo ? { redirectTo } : {}))}
      >
        {label}
      </button>
    </div>
  );
}

/** "Add a passkey", with a name the person chooses (e.g. the device's). */
export function AddPasskey({ action, hint }: { action: string; hint?: string }) {
  const supported = useWebAuthn();
  const { error, busy, run } = useCeremony();
  const [name, setName] = useState("");
  if (!supported) return null;
  return (
    <div className="add-passkey">
      {hint ? <p className="hint">{hint}</p> : null}
      <FormError message={error} />
      <div className="field">
        <label htmlFor="passkey-name">Passkey name</label>
        <p className="hint" id="passkey-name-hint">
          For example the device it is on, such as &ldquo;My laptop&rdquo;.
        </p>
        <input id="passkey-name" name="passkey-name" maxLength={60} value={name} aria-describedby="passkey-name-hint" onChange={(e) => setName(e.target.value)} />
      </div>
      <button
        type="button"
        disabled={busy}
        onClick={() => run(() => register(action, name))}
      >
        Add a passkey
      </button>
    </div>
  );
}

async function register(action: string, name: string): Promise<string | null> {
  const options = await post<OptionsAnswer>(action, { intent: "register-options" });
  if (!options.ok) return options.error;
  let credential;
  try {
    credential = await startRegistration({ optionsJSON: options.options });
  } catch (error) {
    return ceremonyError(error) ?? "The passkey request was cancelled. Try again.";
  }
  const done = await post<Answer>(action, { intent: "register", credential, name });
  if (!done.ok) return done.error;
  window.location.assign(done.redirectTo ?? window.location.pathname);
  return null;
}
