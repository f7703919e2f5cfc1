// Finding a request's files in D1, always scoped to the firm (and for clients to the contact).
import { and, asc, eq } from "drizzle-orm";
import { requestFiles, requestItems, requests } from "../../../db/schema";
import { type Database } from "../db.server";
import type { Ref, RequestFile } from "../types";

/** The query for a request's files (rows of `{ file }`), to run alone or in a batch. */
export function filesOfRequest(db: Database, firmId: Ref, requestId: string) {
  // request_files is indexed by item; reach the files through the request's items.
  return db
    .select({ file: requestFiles })
    .from(requestItems)
    .innerJoin(requestFiles, eq(requestFiles.itemId, requestItems.id))
    .where(and(eq(requestItems.requestId, requestId), eq(requestItems.firmId, firmId), eq(requestFiles.firmId, firmId)))
    .orderBy(asc(requestFiles.uploadedAt));
}

/** A file of one request of this firm (staff downloads). */
export async function findFirmFile(db: Database, firmId: string, requestId: string, fileId: string): Promise<RequestFile | null> {
  const [row] = await db
    .select({ file: requestFiles })
    .from(requestFiles)
    .innerJoin(requests, eq(requests.id, requestFiles.requestId))
    .where(and(eq(requestFiles.id, fileId), eq(requestFiles.requestId, requestId), eq(requestFiles.firmId, firmId), eq(requests.firmId, firmId)))
    .limit(1);
  return row?.file ?? null;
}

/** A file of one of this contact's requests (client downloads). */
export async function findContactFile(db: Database, firmId: string, contactId: string, requestId: string, fileId: string): Promise<RequestFile | null> {
  const [row] = await db
    .select({ file: requestFiles })
    .from(requestFiles)
    .innerJoin(requests, eq(requests.id, requestFiles.requestId))
    .where(
      and(
        eq(requestFiles.id, fileId),
        eq(requestFiles.requestId, requestId),
        eq(requestFiles.firmId, firmId),
        eq(requests.firmId, firmId),
        eq(requests.contactId, contactId),
      ),
    )
    .limit(1);
  return row?.file ?? null;
}
