/**
 * The API document and its reference page, for anyone: no session, no credential (they
 * describe an open-source API; the only fact of the deployment they carry is its
 * Gatehouse path). Mounted under the API before its signed-in checks (src/app.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { apiDocument } from "./document";
import { referencePage } from "./reference-page";

export const DOCUMENT_PATH = "/openapi.json";
export const REFERENCE_PATH = "/reference";

/** `app()`: the whole app whose routes the document describes (itself included); `base`: its Gatehouse path. */
export function apiDocumentRoutes(app: () => Hono<AppEnv>, base: string) {
  return new Hono<AppEnv>()
    .get(DOCUMENT_PATH, async (c) => c.json(await apiDocument(app(), base)))
    .get(REFERENCE_PATH, async (c) => c.html(referencePage(await apiDocument(app(), base), `${base}/api${DOCUMENT_PATH}`)));
}
