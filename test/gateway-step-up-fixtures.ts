// Shared by the gateway step-up tests: a fake origin, the routes and a signed-in member.
import { ASSERTION_HEADER } from "../src/gateway/assertion";
import { Harness, PASSWORD, seedTenant, withEnv } from "./helpers";
import { keySetText } from "./gateway-fixtures";

/** The product's service binding: counts what reached it and answers as told. */
export function fakeOrigin(status = 200, answer?: () => Promise<Response>) {
  const seen: { method: string; path: string; assertion?: string | null }[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const req = new Request(input, init);
      seen.push({ method: req.method, path: new URL(req.url).pathname, ...(req.method === "POST" ? { assertion: req.headers.get(ASSERTION_HEADER) } : {}) });
      return answer ? answer() : Response.json({ done: true }, { status });
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, seen };
}

export const ROUTES = JSON.stringify([
  { method: "DELETE", path: "/v1/notes/*", purpose: "NOTE_DELETE" },
  { method: "GET", path: "/billing/export", purpose: "BILLING_EXPORT" },
  { method: "POST", path: "/open/danger", purpose: "NOTE_DELETE" },
  { method: "POST", path: "/v1/notes/*/restore", purpose: "NOTE_RESTORE" },
]);

let KEYS = "";
/** Call in beforeAll: the assertion keys gatewayEnv uses. */
export async function loadStepUpKeys() {
  KEYS = await keySetText("k-stepup");
}

export function gatewayEnv(origin: Fetcher, extra: Parameters<typeof withEnv>[0] = {}) {
  return withEnv({ ORIGIN: origin, ASSERTION_AUDIENCE: "acme-notes", PUBLIC_PATHS: '["/", "/open/*"]', ASSERTION_SIGNING_KEYS: KEYS, STEP_UP_ROUTES: ROUTES, ...extra });
}

export const NAVIGATION = { accept: "text/html,application/xhtml+xml", "sec-fetch-mode": "navigate", "sec-fetch-site": "none" };
export const FETCH = { accept: "application/json", "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin" };

export async function signedInMember() {
  const h = new Harness();
  const t = await seedTenant("su");
  const session = await h.login(t.member.email);
  return { h, t, ...session };
}

export const verify = (h: Harness, cookie: string, purpose: string) =>
  h.call("/api/security/stepup/verify", { cookie, body: { purpose, password: PASSWORD } });

