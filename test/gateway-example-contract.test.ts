import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { noteAuditInput } from "../examples/acme-notes/src/audit";
import { parseConfig } from "../src/config";
import { auditEventInputSchema } from "../src/rpc/schemas";
import type { AuditEventInput } from "../src/rpc/types";
import { ASSERTION_HEADER as REFERENCE_HEADER, createAssertionVerifier } from "../packages/product/src/index";
import { parseAssertionKeys } from "../src/gateway/assertion-keys";
import { ASSERTION_HEADER, AssertionCache, type AssertionSubject, signAssertion } from "../src/gateway/assertion";
import { keySetText } from "./gateway-fixtures";
import { START_MS, configured } from "./helpers";

const subject: AssertionSubject = {
  sessionId: "sess1",
  sessionVersion: 1,
  tenantId: "acme",
  user: { id: "u-bob", email: "bob@acme.test", name: "Bob", role: "member", permissions: ["SETTINGS_TEAM_VIEW"] },
  amr: ["pwd"],
  actor: { id: "u-alice", email: "alice@acme.test", name: "Alice" },
};

async function setup() {
  const keys = await parseAssertionKeys(await keySetText("k1", "k0"));
  const verify = createAssertionVerifier({
    jwksUrl: "https://gatehouse/_gatehouse/.well-known/jwks.json",
    fetcher: { fetch: async () => Response.json(keys.publicJwks) },
    issuer: "gatehouse",
    audience: "acme-notes",
    now: () => START_MS,
  });
  const sign = (audience: string) => signAssertion(subject, { keys, issuer: "gatehouse", audience, nowMs: START_MS, cache: new AssertionCache() });
  const request = (token: string) => new Request("https://app.test/app", { headers: { [ASSERTION_HEADER]: token } });
  return { verify, sign, request };
}

describe("Gatehouse's assertion and the reference verifier agree", () => {
  it("both sides use the same header name", () => {
    expect(REFERENCE_HEADER).toBe(ASSERTION_HEADER);
  });

  it("the reference verifier accepts what Gatehouse signs, act included", async () => {
    const { verify, sign, request } = await setup();
    const result = await verify(request(await sign("acme-notes")));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.claims).toMatchObject({ sub: "u-bob", tid: "acme", sid: "sess1", role: "member", permissions: ["SETTINGS_TEAM_VIEW"], act: { sub: "u-alice", name: "Alice" } });
    }
  });

  it("the reference verifier refuses an assertion Gatehouse signed for another product", async () => {
    const { verify, sign, request } = await setup();
    expect(await verify(request(await sign("billing")))).toMatchObject({ ok: false, status: 401 });
  });
});

describe("the demo product and Gatehouse agree on step-up and audit events", () => {
  it("the demo's gateway settings parse, and deleting a note needs NOTE_DELETE", () => {
    const vars = JSON.parse(env.TEST_DEMO_GATEWAY_VARS) as Record<string, string>;
    const gateway = parseConfig(configured({ ...vars, ORIGIN_URL: "http://acme-notes.internal" })).gateway;
    expect(gateway?.stepUpRoutes.stepUpFor("DELETE", "/api/notes/3f2a")).toEqual({ kind: "purpose", purpose: "NOTE_DELETE" });
    expect(gateway?.stepUpRoutes.stepUpFor("POST", "/api/notes")).toEqual({ kind: "none" });
  });

  it("the demo product's audit events pass the RPC entrypoint's own validation", () => {
    const claims = { iss: "gatehouse", aud: "acme-notes", sub: "usr_bob", tid: "acme", sid: "sess_1", email: "b@a.test", name: "Bob", role: "member", permissions: [], amr: ["pwd"], iat: 1, exp: 2, jti: "j" };
    const request = new Request("https://app.test/api/notes/n1", { headers: { "cf-connecting-ip": "203.0.113.9", "user-agent": "Mozilla/5.0 (X11) \u00e9" } });
    for (const event of [
      { action: "app.note.created", outcome: "SUCCESS", noteId: "n1", after: { text: "x" } },
      { action: "app.note.deleted", outcome: "FAIL", noteId: "n1", failureReason: "FORBIDDEN" },
    ] as const) {
      const input: AuditEventInput = noteAuditInput(claims, request, event);
      expect(auditEventInputSchema.safeParse(input).success, event.action).toBe(true);
    }
  });
});
