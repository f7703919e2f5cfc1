// Passkeys in Chromium with a virtual authenticator (the DevTools WebAuthn domain): a client adds one on
// Account and signs in without typing an email, a passkey alone satisfies the 2FA mode, staff removal
// signs the client out, and "Magic link only" refuses passkey sign-in.
import { expect, test, type BrowserContext, type Page } from "./fixtures";
import { signInStaff, submitClientSignIn } from "./helpers";

type VirtualAuthenticator = { cdp: Awaited<ReturnType<BrowserContext["newCDPSession"]>>; authenticatorId: string };

/**
 * A platform authenticator with user verification, as a phone or laptop has (resident keys: passkeys).
 * It answers every request at once, including the sign-in page's autofill request (conditional
 * mediation), which a person answers by picking the passkey in the email field. So that the "Sign in
 * with a passkey" button is what signs in, the page is a browser without passkey autofill unless
 * `autofill` is asked for (the autofill has its own test).
 */
async function virtualAuthenticator(page: Page, { autofill = false } = {}): Promise<VirtualAuthenticator> {
  if (!autofill) {
    await page.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** "Sign in with a passkey" on the sign-in page: nothing typed. */
async function signInWithPasskeyButton(page: Page, portal: string): Promise<void> {
  await page.goto(`${portal}/login`);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
}

async function credentialsOf(authenticator: VirtualAuthenticator) {
  const { credentials } = await authenticator.cdp.send("WebAuthn.getCredentials", { authenticatorId: authenticator.authenticatorId });
  return credentials;
}

/** On Account: add a passkey with a name (a fresh sign-in counts as a recent confirmation). */
async function addPasskeyOnAccount(page: Page, name: string): Promise<void> {
  await page.getByRole("link", { name: "Account" }).click();
  const section = page.getByRole("region", { name: "Passkeys" });
  await expect(section).toContainText("No passkeys yet.");
  await section.getByLabel("Passkey name").fill(name);
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByRole("cell", { name, exact: true })).toBeVisible();
  await expect(section.getByRole("cell", { name: "Device-bound" })).toBeVisible();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page.getByRole("button", { name: "Sign out", exact: true })).toHaveCount(0);
}

test("a client adds a passkey on Account, then signs in with it without typing an email", async ({ page, firm }) => {
  const authenticator = await virtualAuthenticator(page);
  const client = firm.contacts.olivia;
  await submitClientSignIn(page, firm.portal, client);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await addPasskeyOnAccount(page, "Work laptop");
  const [credential] = await credentialsOf(authenticator);
  expect(credential.isResidentCredential).toBe(true);
  // The user handle is random bytes, not the email.
  expect(Buffer.from(credential.userHandle!, "base64").toString("latin1")).not.toContain(client.email);
  await expect(page.getByRole("region", { name: "Recent sign-ins" })).toBeVisible();
  await signOut(page);

  await signInWithPasskeyButton(page, firm.portal);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/requests$`));
  // Nothing was typed: the discoverable passkey named the account.
  expect((await credentialsOf(authenticator))[0].signCount).toBeGreaterThan(credential.signCount);
  await signOut(page);

  // A browser with passkey autofill (conditional mediation) offers it in the email field; the virtual
  // authenticator picks it as soon as the page asks, as the person would.
  const withAutofill = await page.context().newPage();
  const other = await virtualAuthenticator(withAutofill, { autofill: true });
  await other.cdp.send("WebAuthn.addCredential", { authenticatorId: other.authenticatorId, credential: (await credentialsOf(authenticator))[0] });
  await withAutofill.goto(`${firm.portal}/login`);
  await expect(withAutofill.getByRole("heading", { name: "Your requests" })).toBeVisible();
});

test("the 2FA mode: a client sets up a passkey as the easier way, then a passkey alone gets them in", async ({ page, makeFirm }) => {
  const firm = await makeFirm({ securityMode: "magic_link_and_login_2fa" });
  await virtualAuthenticator(page);
  const client = firm.contacts.olivia;
  await submitClientSignIn(page, firm.portal, client);
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/2fa/setup$`));
  const easier = page.getByRole("region", { name: "The easier way: a passkey" });
  await easier.getByLabel("Passkey name").fill("Phone");
  await easier.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await signOut(page);

  // No email, no password, no code.
  await signInWithPasskeyButton(page, firm.portal);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
  await signOut(page);

  // With the password, the passkey is the second step (no authenticator app is asked for).
  await submitClientSignIn(page, firm.portal, client);
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/2fa$`));
  await expect(page.getByLabel("Code", { exact: true })).toHaveCount(0);
  await page.getByRole("button", { name: "Use your passkey" }).click();
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();
});

test("staff remove a client's passkeys from Edit login details, and the client is signed out", async ({ page, browser, firm }) => {
  const authenticator = await virtualAuthenticator(page);
  const client = firm.contacts.olivia;
  await submitClientSignIn(page, firm.portal, client);
  await addPasskeyOnAccount(page, "Tablet");
  await signOut(page);
  await signInWithPasskeyButton(page, firm.portal);
  await expect(page.getByRole("heading", { name: "Your requests" })).toBeVisible();

  const staffContext = await browser.newContext();
  const admin = await staffContext.newPage();
  await signInStaff(admin, firm.admin);
  await admin.getByRole("link", { name: client.name }).click();
  await expect(admin.getByRole("heading", { name: client.name })).toBeVisible();
  await expect(admin.getByRole("region", { name: "Client portal" })).toContainText(/1, last used/);
  await admin.getByRole("link", { name: "Edit login details" }).click();
  await expect(admin.getByRole("region", { name: "Passkeys" })).toContainText("Tablet");
  await admin.getByLabel("Reason for removing the passkeys").fill("Olivia lost her tablet; confirmed by a call");
  await admin.getByLabel("I have checked that this request to remove the passkeys really comes from the client.").check();
  await admin.getByRole("button", { name: "Remove passkeys" }).click();
  await expect(admin.getByRole("status")).toContainText("The client's passkeys were removed. The client was signed out and emailed.");
  await staffContext.close();

  // The client's open browser is signed out on its next request, and the passkey no longer signs in.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Your requests" })).toHaveCount(0);
  await signInWithPasskeyButton(page, firm.portal);
  await expect(page.getByRole("alert")).toContainText("This passkey is not registered");
  await expect(page).toHaveURL(new RegExp(`${firm.portal}/login$`));
  expect(await credentialsOf(authenticator)).toHaveLength(1);
});

test('"Magic link only" refuses passkey sign-in', async ({ page, browser, firm }) => {
  const authenticator = await virtualAuthenticator(page);
  await submitClientSignIn(page, firm.portal, firm.contacts.olivia);
  await addPasskeyOnAccount(page, "Laptop");
  await signOut(page);

  const staffContext = await browser.newContext();
  const admin = await staffContext.newPage();
  await signInStaff(admin, firm.admin);
  await admin.getByRole("link", { name: "Settings" }).click();
  await admin.getByLabel("Magic link only").check();
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.getByRole("button", { name: "Confirm and save" }).click();
  await expect(admin.getByRole("status")).toContainText("Magic link only");
  await staffContext.close();

  await page.goto(`${firm.portal}/login`);
  await expect(page.getByRole("heading", { name: "Sign in with an email link" })).toBeVisible();
  expect(await credentialsOf(authenticator)).toHaveLength(1);
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toHaveCount(0);
  // The server refuses it too, not only the page.
  const refused = await page.evaluate(async (action) => {
    const response = await fetch(action, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ intent: "sign-in-options" }) });
    return { status: response.status, body: (await response.json()) as { ok: boolean; error: string } };
  }, `${firm.portal}/passkey`);
  expect(refused.status).toBe(403);
  expect(refused.body.error).toContain("uses email links only");
});

test("staff add a passkey on their account page and sign in with it at /login without an email", async ({ page, firm }) => {
  await virtualAuthenticator(page);
  await signInStaff(page, firm.member);
  await page.getByRole("link", { name: "Account" }).click();
  const section = page.getByRole("region", { name: "Passkeys" });
  await section.getByLabel("Passkey name").fill("Office desktop");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByRole("status")).toContainText("Your passkey was added");
  await expect(page.getByRole("region", { name: "Passkeys" })).toContainText("Office desktop");
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Sign in to your firm" })).toBeVisible();

  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("heading", { name: "Contacts", exact: true })).toBeVisible();
});
