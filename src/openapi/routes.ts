/**
 * The API document and its reference page, for anyone: no session, no credential (they
 * describe an open-source API; the only fact of the deployment they carry is its
 * Gatehouse path). Mounted under the API before its signed-in checks (src/app.ts).
 *
 * The document is the one generated from the routes (src/openapi/document.ts), kept as
 * document.json: generating it per isolate would cost a request a few hundred milliseconds
 * of CPU. Here it gets the deployment's Gatehouse path as its server, once per isolate.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import type { ApiDocument } from "./document";
import generated from "./document.json";
import { referencePage } from "./reference-page";

export const DOCUMENT_PATH = "/openapi.json";
export const REFERENCE_PATH = "/reference";

type Served = { json: string; page: string };
const served = new Map<string, Served>();

/** The document and the page for the Gatehouse path `base`, made once. */
function servedFor(base: string): Served {
  let answer = served.get(base);
  if (!answer) {
    const document = { ...(generated as unknown as ApiDocument), servers: [{ url: base, description: "This Gatehouse (its GATEHOUSE_PATH)" }] };
    answer = { json: JSON.stringify(document), page: referencePage(document, `${base}/api${DOCUMENT_PATH}`) };
    served.set(base, answer);
  }
  return answer;
}

/** `base`: the Gatehouse path the API is mounted under. */
export function apiDocumentRoutes(base: string) {
  return new Hono<AppEnv>()
    .get(DOCUMENT_PATH, (c) => c.body(servedFor(base).json, 200, { "Content-Type": "application/json" }))
    .get(REFERENCE_PATH, (c) => c.html(servedFor(base).page));
}
