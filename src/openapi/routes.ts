/**
 * The API document and its reference page, for anyone: no session, no credential (they
 * describe an open-source API; the only fact of the deployment they carry is its
 * Gatehouse path). Mounted under the API before its signed-in checks (src/app.ts).
 *
 * The document is the one generated from the routes (src/openapi/document.ts), committed as
 * ui/public/api/openapi.json: generating it per isolate would cost a request a few hundred
 * milliseconds of CPU. The panel's build copies it into the static files (dist/panel), and it
 * is read from there through the ASSETS binding when first asked for, not bundled: every
 * isolate parses the bundle at start, and few requests want this file. Here it gets the
 * deployment's Gatehouse path as its server, once per isolate. Without the static files (a
 * deploy without the panel) the routes answer 503 API_DOCUMENT_UNAVAILABLE.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { ApiDocument } from "./document";
import { answers } from "./notes";
import { referencePage } from "./reference-page";

export const DOCUMENT_PATH = "/openapi.json";
export const REFERENCE_PATH = "/reference";
/** Where the panel's build puts the committed document among the static files. */
const ASSET_PATH = "/api/openapi.json";

type Served = { json: string; page: string };
/** Per Gatehouse path (an isolate may host apps mounted under different ones, as tests do). */
const served = new Map<string, Promise<Served>>();

/** The document and the page for the Gatehouse path `base`, made once per isolate and path (a failure is not kept). */
function servedFor(assets: Fetcher | undefined, base: string): Promise<Served> {
  let answer = served.get(base);
  if (!answer) {
    answer = (async () => {
      const res = assets ? await assets.fetch(new Request(`https://assets.invalid${ASSET_PATH}`)) : null;
      if (!res?.ok) throw new ApiError(503, "API_DOCUMENT_UNAVAILABLE", "The API document is not deployed here (the panel's static files are missing)");
      const document = { ...((await res.json()) as ApiDocument), servers: [{ url: base, description: "This Gatehouse (its GATEHOUSE_PATH)" }] };
      return { json: JSON.stringify(document), page: referencePage(document, `${base}/api${DOCUMENT_PATH}`) };
    })();
    served.set(base, answer);
    answer.catch(() => served.delete(base));
  }
  return answer;
}

/** `base`: the Gatehouse path the API is mounted under. */
export function apiDocumentRoutes(base: string) {
  return new Hono<AppEnv>()
    .get(DOCUMENT_PATH, answers("API_DOCUMENT_UNAVAILABLE"), async (c) => c.body((await servedFor(c.env.ASSETS, base)).json, 200, { "Content-Type": "application/json" }))
    .get(REFERENCE_PATH, answers("API_DOCUMENT_UNAVAILABLE"), async (c) => c.html((await servedFor(c.env.ASSETS, base)).page));
}
