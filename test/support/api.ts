// Calls of the public API through the real worker, with a key made the way the settings page makes it.
import { SELF } from "cloudflare:test";
import { apiKeys, type ApiKeyScope } from "../../db/schema";
import { generateToken, sha256Hex } from "../../app/server/crypto.server";
import { db, uid, type TestFirm } from "./factories";
import { ORIGIN } from "./http";

export type TestKey = { id: string; key: string; name: string };

export async function createApiKey(firm: TestFirm, scope: ApiKeyScope = "read_write", name = uid("key ")): Promise<TestKey> {
  const id = crypto.randomUUID().replace(/-/g, "");
  const secret = generateToken();
  await db.insert(apiKeys).values({ id, firmId: firm.id, name, scope, keyHash: await sha256Hex(secret), createdAt: Date.now() });
  return { id, key: `cpk_${id}_${secret}`, name };
}

/** A server-to-server call: no cookies, no Origin, no Sec-Fetch-Site, as curl or an SDK sends it. */
export async function callApi(
  key: TestKey | string | null,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  if (key !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${typeof key === "string" ? key : key.key}`);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", "198.51.100.7");
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return SELF.fetch(`${ORIGIN}/api/v1${path}`, { method, headers, body, redirect: "manual" });
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
