// Gatehouse's own answers on product paths (refusals, redirects, errors) are Gatehouse's
// data, like every API answer: never cached, never sniffed, never framed. They carry the
// API's headers from the one owner (src/lib/own-answer-headers.ts); what the product's
// origin answers passes through as it was.
import { createExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createWorker } from "../src/worker";
import { FETCH, NAVIGATION, fakeOrigin, gatewayEnv, loadStepUpKeys, signedInMember } from "./gateway-step-up-fixtures";
import { type CallResult, Harness, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { seedRules } from "./ip-rules-fixtures";

beforeAll(loadStepUpKeys);

/** The API's security headers, by name: a product-path answer Gatehouse makes must carry each with the API's value. */
const API_HEADERS = [
  "cache-control",
  "x-content-type-options",
  "content-security-policy",
  "x-frame-options",
  "referrer-policy",
  "cross-origin-resource-policy",
  "strict-transport-security",
];

async function apiHeaders(): Promise<Record<string, string | null>> {
  const res = await new Harness().call("/api/me");
  return Object.fromEntries(API_HEADERS.map((name) => [name, res.headers.get(name)]));
}

type Answer = Pick<CallResult<unknown>, "status" | "headers">;

/** Each kind of answer the gateway makes itself, with the status it must have. */
const OWN_ANSWERS: [string, number, () => Promise<Answer>][] = [
  ["401 to a fetch without a session", 401, () => new Harness().call("/v1/notes", { env: gatewayEnv(fakeOrigin().binding), headers: FETCH })],
  ["302 to sign-in for a page load without a session", 302, () => new Harness().call("/app", { env: gatewayEnv(fakeOrigin().binding), headers: NAVIGATION })],
  [
    "428 step-up challenge to a fetch",
    428,
    async () => {
      const { h, cookie } = await signedInMember();
      return h.call("/v1/notes/n1", { cookie, method: "DELETE", env: gatewayEnv(fakeOrigin().binding), headers: FETCH });
    },
  ],
  [
    "302 to the step-up page for a page load",
    302,
    async () => {
      const { h, cookie } = await signedInMember();
      return h.call("/billing/export", { cookie, env: gatewayEnv(fakeOrigin().binding), headers: NAVIGATION });
    },
  ],
  [
    "403 refusal of a blocked address",
    403,
    async () => {
      const { h, t, cookie } = await signedInMember();
      await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
      h.clock.advanceSeconds(2); // past the in-isolate copy of the rule set
      return h.call("/app", { cookie, ip: "198.51.100.7", env: gatewayEnv(fakeOrigin().binding) });
    },
  ],
  [
    "403 CSRF refusal",
    403,
    async () => {
      const { h, cookie } = await signedInMember();
      return h.call("/app/notes", { cookie, method: "POST", body: { text: "x" }, env: gatewayEnv(fakeOrigin().binding), headers: { "sec-fetch-site": "cross-site" } });
    },
  ],
  [
    "502 for an unreachable origin",
    502,
    () =>
      new Harness().call("/", {
        env: gatewayEnv(
          fakeOrigin(200, () => {
            throw new Error("connection refused");
          }).binding,
        ),
      }),
  ],
  [
    "503 without signing keys",
    503,
    async () => {
      const { h, cookie } = await signedInMember();
      return h.call("/app", { cookie, env: gatewayEnv(fakeOrigin().binding, { ASSERTION_SIGNING_KEYS: "not json" }) });
    },
  ],
  ["503 for a gateway whose settings do not parse", 503, () => new Harness().call("/app", { env: withEnv({ ORIGIN: fakeOrigin().binding, PUBLIC_PATHS: '["/app"]' }) })],
  ["404 for a product path when standalone", 404, () => new Harness().call("/app")],
  ["302 from the host's root to the panel when standalone", 302, () => new Harness().call("/")],
  [
    "503 from a worker whose configuration did not parse at startup",
    503,
    async () => {
      const broken = withEnv({ ORIGIN: fakeOrigin().binding, PUBLIC_PATHS: '["/app"]' });
      const quiet = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        return await createWorker(broken).fetch(new Request(gatehouseUrl("/app")), broken, createExecutionContext());
      } finally {
        quiet.mockRestore();
      }
    },
  ],
];

describe("Gatehouse's own answers on product paths carry the API's headers", () => {
  it("every answer the gateway makes itself on a product path is never cached or sniffed: it carries the API's headers", async () => {
    const expected = await apiHeaders();
    expect(expected["cache-control"]).toBe("no-store");
    expect(expected["x-content-type-options"]).toBe("nosniff");
    for (const [kind, status, answer] of OWN_ANSWERS) {
      const res = await answer();
      expect(res.status, kind).toBe(status);
      expect(Object.fromEntries(API_HEADERS.map((name) => [name, res.headers.get(name)])), kind).toEqual(expected);
    }
  }, 30_000);

  it("an answer of the origin passes through with its own headers: Gatehouse adds none of the API's", async () => {
    const h = new Harness();
    const t = await seedTenant("own");
    const { cookie } = await h.login(t.member.email);
    const origin = fakeOrigin(200, async () => new Response("<p>notes</p>", { status: 404, headers: { "content-type": "text/html", "cache-control": "public, max-age=60" } }));
    for (const res of [await h.call("/", { env: gatewayEnv(origin.binding) }), await h.call("/app", { cookie, env: gatewayEnv(origin.binding) })]) {
      expect(res.status).toBe(404);
      expect(res.headers.get("cache-control")).toBe("public, max-age=60");
      for (const name of API_HEADERS.filter((n) => n !== "cache-control")) expect(res.headers.get(name), name).toBeNull();
    }
    expect(origin.seen).toHaveLength(2);
  });
});
