// SECURITY.md rule 1: where a secret could sit at rest. Reads every row of every D1 table and every KV
// key, value and metadata, so a new table or column is covered without anyone remembering to add it.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { decodeBase64urlIgnorePadding, encodeBase64, encodeHexLowerCase, encodeHexUpperCase } from "@oslojs/encoding";

/** A token as stored text could hold it: as sent, and its bytes as hex or standard base64. */
export function tokenForms(token: string): string[] {
  const forms = [token];
  if (/^[A-Za-z0-9_-]{43}$/.test(token)) {
    const bytes = decodeBase64urlIgnorePadding(token);
    forms.push(encodeHexLowerCase(bytes), encodeHexUpperCase(bytes), encodeBase64(bytes), encodeBase64(bytes).replace(/=+$/, ""));
  }
  return forms;
}

/** What a console call would print, objects included ("[object Object]" would hide a token). */
export function logText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.message}\n${value.stack ?? ""}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function cellTexts(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value) || Array.isArray(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : Uint8Array.from(value as number[]);
    return [encodeHexLowerCase(bytes), new TextDecoder().decode(bytes)];
  }
  return [String(value)];
}

/** "D1 <table>" or "KV <key>" for every place that holds any form of any needle. */
export async function placesHolding(needles: string[]): Promise<string[]> {
  const forms = needles.flatMap(tokenForms);
  const holds = (text: string) => forms.some((form) => text.includes(form));
  const places = new Set<string>();

  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>();
  expect(tables.results.map((t) => t.name)).toContain("outbox");
  for (const { name } of tables.results) {
    let rows: Record<string, unknown>[];
    try {
      rows = (await env.DB.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all()).results;
    } catch (error) {
      // D1's own bookkeeping tables refuse reads from the Worker; every app table must be readable.
      if (name.startsWith("_cf_")) continue;
      throw error;
    }
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        if (cellTexts(value).some(holds)) places.add(`D1 ${name}.${column}`);
      }
    }
  }

  let cursor: string | undefined;
  do {
    const page = await env.LINKS.list({ cursor });
    for (const key of page.keys) {
      const value = (await env.LINKS.get(key.name)) ?? "";
      if (holds(key.name) || holds(value) || holds(logText(key.metadata ?? null))) places.add(`KV ${key.name}`);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return [...places];
}
