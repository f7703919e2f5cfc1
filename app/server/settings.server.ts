// The worker's settings, checked before it serves anything (ADR 010). A deployed worker missing a
// secret would run half-configured: 2FA enrolment failing, sign-in links never mailed. It answers
// 503 naming what is missing instead. Problems name settings, never their values.
import { RECOVERY_KEY_NAMES, TOTP_KEY_NAMES, parseKeyring } from "./keyring.server";

/**
 * Local modes, switched on only by the local scripts (`--var ENVIRONMENT:development`) and the
 * vitest pool (`test`). Anything else, a missing value included, is held to the production rules.
 */
const LOCAL_ENVIRONMENTS = new Set(["development", "test"]);

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Development behaviour (the dev outbox, mail "delivered" by storing it) needs both the
 * development environment and a request addressed to this machine: a deployed worker is reached
 * by its public hostname, so a mistaken ENVIRONMENT=development there still shows nothing.
 */
export function isLocalDevelopment(env: Env, requestUrl: URL): boolean {
  return env.ENVIRONMENT === "development" && isLoopbackHost(requestUrl.hostname);
}

function parseUrl(value: string | undefined): URL | null {
  try {
    return value ? new URL(value) : null;
  } catch {
    return null;
  }
}

/**
 * Everything wrong with the settings, one line each, empty when the worker may serve.
 * `requestUrl` is given for requests (absent for the cron): development mode serves loopback only.
 * The email rules follow `transportFor` in outbox.server.ts: production needs the HTTP provider.
 */
export function settingsProblems(env: Env, requestUrl?: URL): string[] {
  const problems = problemsOf(env);
  if (env.ENVIRONMENT === "development" && requestUrl && !isLoopbackHost(requestUrl.hostname)) {
    return [...problems, "ENVIRONMENT is development, which serves only this machine (127.0.0.1, localhost)"];
  }
  return problems;
}

/**
 * The settings' own problems, worked out once per `env` object: every request checks readiness, and
 * parsing both keyrings and the URLs each time was work on every page view (issue 14). A changed
 * setting comes with a new deployment, so a new isolate and a new `env`.
 */
const checked = new WeakMap<Env, string[]>();

function problemsOf(env: Env): string[] {
  const known = checked.get(env);
  if (known) return known;
  const problems = envProblems(env);
  checked.set(env, problems);
  return problems;
}

function envProblems(env: Env): string[] {
  const problems: string[] = [];
  const local = LOCAL_ENVIRONMENTS.has(env.ENVIRONMENT);
  if (!env.ENVIRONMENT) problems.push("ENVIRONMENT is not set (production deployments say \"production\")");

  // Each key with its id and the retired keys kept for reading (docs/decisions/017).
  for (const [names, current, retired] of [
    [TOTP_KEY_NAMES, env.TOTP_ENCRYPTION_KEY, env.TOTP_ENCRYPTION_KEYS_RETIRED],
    [RECOVERY_KEY_NAMES, env.RECOVERY_CODE_KEY, env.RECOVERY_CODE_KEYS_RETIRED],
  ] as const) {
    const keyring = parseKeyring(names, current, retired);
    if (!keyring.ok) problems.push(...keyring.problems);
  }

  const appUrl = parseUrl(env.APP_URL);
  if (!env.APP_URL) problems.push("APP_URL is not set (the portal's public address, e.g. https://portal.example.com)");
  else if (!appUrl) problems.push("APP_URL is not a URL");
  else if (env.ENVIRONMENT === "development" && !isLoopbackHost(appUrl.hostname)) {
    problems.push("APP_URL must be a local address in development");
  } else if (!local && (appUrl.protocol !== "https:" || isLoopbackHost(appUrl.hostname))) {
    problems.push("APP_URL must be an https:// address that is not this machine");
  }
  if (!env.EMAIL_FROM) problems.push("EMAIL_FROM is not set (the From address of every email)");

  if (!local) {
    const providerUrl = parseUrl(env.EMAIL_API_URL);
    if (!env.EMAIL_API_URL) problems.push("EMAIL_API_URL is not set (the email provider's HTTP endpoint)");
    else if (providerUrl?.protocol !== "https:") problems.push("EMAIL_API_URL must be an https:// URL");
    if (!env.EMAIL_API_KEY) problems.push("EMAIL_API_KEY is not set");
  }
  return problems;
}
