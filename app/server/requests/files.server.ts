// Files clients upload to requests: the limits, the type allowlist, safe names, storage in R2 and
// downloads through the worker. Object keys come from ids only (never from the client's file name),
// and nothing is written to D1 until the object is stored, nor left in R2 if D1 refuses the row.
import { generateId } from "../crypto.server";
import type { Database } from "../db.server";
import { ITEM_NOT_FOUND, REQUEST_CLOSED, findOpenItem, recordUpload, type ClientActor, type ItemChange } from "./items.server";
import type { RequestFile } from "../types";
import { refuse, type Refusal } from "../result";

export const MAX_FILE_BYTES = 50 * 1024 * 1024;
/** Room for the multipart envelope (boundaries, part headers, the item id) around one file. */
export const MULTIPART_ENVELOPE_BYTES = 16 * 1024;
export const MAX_FILE_NAME_LENGTH = 120;

/** Extension → the content types a browser may declare for it, and the one we store and serve. */
const ALLOWED_TYPES: Record<string, { declared: string[]; stored: string }> = {
  pdf: { declared: ["application/pdf"], stored: "application/pdf" },
  png: { declared: ["image/png"], stored: "image/png" },
  jpg: { declared: ["image/jpeg"], stored: "image/jpeg" },
  jpeg: { declared: ["image/jpeg"], stored: "image/jpeg" },
  heic: { declared: ["image/heic", "image/heif"], stored: "image/heic" },
  // Windows browsers label CSV with Excel's registered type.
  csv: { declared: ["text/csv", "application/csv", "application/vnd.ms-excel"], stored: "text/csv" },
  xlsx: {
    declared: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
    stored: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  },
  docx: {
    declared: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    stored: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  },
  txt: { declared: ["text/plain"], stored: "text/plain" },
};

export const ALLOWED_EXTENSIONS = Object.keys(ALLOWED_TYPES);
export const ACCEPT_ATTRIBUTE = ALLOWED_EXTENSIONS.map((e) => `.${e}`).join(",");
export const TYPES_SENTENCE = "PDF, PNG, JPEG, HEIC, CSV, Excel (.xlsx), Word (.docx) or plain text (.txt)";

export type UploadRefusal = Refusal;

export const TOO_LARGE = refuse(413, "That file is larger than 50 MB. Upload a smaller file, or split it.");

/**
 * The name we keep and show: the last path segment, without control or bidirectional-override
 * characters, trimmed, at most 120 characters with the extension kept.
 */
export function sanitizeFileName(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  let name = lastSegment.normalize("NFC").replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  name = name.replace(/\s+/g, " ").trim().replace(/^\.+/, "");
  if (name.length > MAX_FILE_NAME_LENGTH) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : "";
    name = name.slice(0, MAX_FILE_NAME_LENGTH - ext.length).trimEnd() + ext;
  }
  return name || "file";
}

export type CheckedFile = { ok: true; fileName: string; contentType: string; size: number };

/** Extension and declared type must both be on the allowlist, and agree with each other. */
export function checkFile(input: { name: string; type: string; size: number }): CheckedFile | UploadRefusal {
  const fileName = sanitizeFileName(input.name);
  if (input.size <= 0) return refuse(422, "That file is empty. Choose the file again.");
  if (input.size > MAX_FILE_BYTES) return TOO_LARGE;
  const dot = fileName.lastIndexOf(".");
  const ext = dot > 0 ? fileName.slice(dot + 1).toLowerCase() : "";
  const allowed = ALLOWED_TYPES[ext];
  const declared = input.type.split(";")[0].trim().toLowerCase();
  if (!allowed || !allowed.declared.includes(declared)) {
    return refuse(415, `That type of file is not accepted. Upload a ${TYPES_SENTENCE} file.`);
  }
  return { ok: true, fileName, contentType: allowed.stored, size: input.size };
}

export function objectKey(firmId: string, requestId: string, fileId: string): string {
  return `firms/${firmId}/requests/${requestId}/${fileId}`;
}

type Target = { actor: ClientActor; requestId: string; itemId: string };

/**
 * Stores the bytes in R2, then records them in D1 with the item's completion. The R2 put gets a
 * stream of exactly the checked size (FixedLengthStream), so a body longer or shorter than it
 * declared fails the put and stores nothing.
 */
export async function storeUpload(
  db: Database,
  env: Env,
  target: Target,
  file: CheckedFile,
  body: ReadableStream<Uint8Array> | Blob,
): Promise<ItemChange | UploadRefusal> {
  // Checked before any byte is stored; recordUpload checks again in the batch that records it.
  const found = await findOpenItem(db, target.actor.firm.id, target.actor.contact.id, target.requestId, target.itemId);
  if (!found || found.item.kind !== "file") return ITEM_NOT_FOUND;
  if (found.request.status !== "open") return REQUEST_CLOSED;
  const fileId = generateId();
  const key = objectKey(target.actor.firm.id, target.requestId, fileId);
  let source: ReadableStream<Uint8Array> | Blob = body;
  if (!(body instanceof Blob)) {
    const fixed = new FixedLengthStream(file.size);
    body.pipeTo(fixed.writable).catch(() => undefined);
    source = fixed.readable;
  }
  try {
    await env.FILES.put(key, source, {
      httpMetadata: { contentType: file.contentType },
      customMetadata: { firmId: target.actor.firm.id, requestId: target.requestId, itemId: target.itemId },
    });
  } catch {
    await env.FILES.delete(key).catch(() => undefined);
    return refuse(400, "The upload did not arrive complete. Please try again.");
  }
  const record: Omit<RequestFile, "firmId" | "uploadedAt"> = {
    id: fileId,
    requestId: target.requestId,
    itemId: target.itemId,
    objectKey: key,
    fileName: file.fileName,
    contentType: file.contentType,
    size: file.size,
  };
  try {
    const result = await recordUpload(db, env, target.actor, record);
    if (!result.ok) await env.FILES.delete(key);
    return result;
  } catch (error) {
    await env.FILES.delete(key).catch(() => undefined);
    throw error;
  }
}

function declaredLength(request: Request): number | null {
  const header = request.headers.get("content-length");
  if (header === null || !/^\d{1,15}$/.test(header)) return null;
  return Number(header);
}

/**
 * The no-JavaScript path: a multipart form with the item id and one file. `formData()` holds the
 * file in memory, so the declared length is checked before a byte is read (ADR 004).
 */
export async function readMultipartUpload(
  request: Request,
): Promise<{ ok: true; itemId: string; file: File; checked: CheckedFile } | UploadRefusal> {
  const length = declaredLength(request);
  if (length === null) return refuse(411, "The upload must declare its size. Please try again.");
  if (length > MAX_FILE_BYTES + MULTIPART_ENVELOPE_BYTES) return TOO_LARGE;
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return refuse(400, "The upload could not be read. Please choose the file again.");
  }
  const itemId = form.get("itemId");
  const file = form.get("file");
  if (typeof itemId !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(itemId)) {
    return refuse(400, "The upload could not be read. Reload the page and try again.");
  }
  if (!(file instanceof File) || (file.size === 0 && file.name === "")) {
    return refuse(422, "Choose a file to upload.");
  }
  const checked = checkFile({ name: file.name, type: file.type, size: file.size });
  if (!checked.ok) return checked;
  return { ok: true, itemId, file, checked };
}

/**
 * The streaming path (used by the page when JavaScript runs): the raw file is the request body, its
 * name in `X-File-Name` (URI-encoded), its type in Content-Type. Nothing is buffered.
 */
export function readRawUpload(request: Request): { ok: true; checked: CheckedFile; body: ReadableStream<Uint8Array> } | UploadRefusal {
  const length = declaredLength(request);
  if (length === null) return refuse(411, "The upload must declare its size. Please try again.");
  if (length > MAX_FILE_BYTES) return TOO_LARGE;
  let name = "";
  try {
    name = decodeURIComponent(request.headers.get("x-file-name") ?? "");
  } catch {
    return refuse(400, "The file name could not be read.");
  }
  const checked = checkFile({ name, type: request.headers.get("content-type") ?? "", size: length });
  if (!checked.ok) return checked;
  if (!request.body) return refuse(422, "Choose a file to upload.");
  return { ok: true, checked, body: request.body };
}

/** `attachment` with a safe ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").replace(/["\\%;]/g, "_").trim() || "download";
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Streams a stored file to an authorised reader. Callers decide who that is. */
export async function fileDownload(env: Env, file: RequestFile): Promise<Response> {
  const object = await env.FILES.get(file.objectKey);
  if (!object) throw new Response("File not found", { status: 404 });
  return new Response(object.body, {
    headers: {
      "Content-Type": file.contentType,
      "Content-Length": String(object.size),
      "Content-Disposition": contentDisposition(file.fileName),
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "private, no-store",
    },
  });
}
