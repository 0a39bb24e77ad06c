// Gatehouse in front of an origin that is not a Worker, over real HTTP: ORIGIN_URL names a
// plain Node server started for the run (test/plain-origin.mjs, test/plain-origin-setup.mjs)
// that uses only the product package. It verifies the assertion against Gatehouse's JWKS,
// reads the proxy headers, and asks for step-up and records audit events over the product
// HTTP API with its credential, its calls reaching this test's Gatehouse through the relay.
import { env } from "cloudflare:workers";
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Bindings } from "../src/env";
import { auditStore } from "./audit-store";
import { keySetText } from "./gateway-fixtures";
import { type CallResult, type ErrorBody, Harness, type SeededTenant, seedTenant, withEnv } from "./helpers";

const plain = inject("plainOrigin");
let KEYS = "";
beforeAll(async () => {
  KEYS = await keySetText("k-plain-origin");
});

type Setup = { h: Harness; t: SeededTenant; e: Bindings; cookie: string; sessionId: string };

/** Gatehouse configured with ORIGIN_URL (the plain origin), and a member signed in. */
async function signedInMember(originUrl = plain.originUrl): Promise<Setup> {
  const h = new Harness();
  // An origin that reads the wall clock (the Python one) verifies what Gatehouse signs now.
  if (originUrl !== plain.originUrl) h.clock.ms = Date.now();
  const t = await seedTenant("plain");
  const e = withEnv({ ORIGIN_URL: originUrl, ASSERTION_AUDIENCE: plain.audience, ASSERTION_SIGNING_KEYS: KEYS, PRODUCT_API_TOKENS: JSON.stringify([plain.productToken]) });
  const { cookie, sessionId } = await h.login(t.member.email);
  return { h, t, e, cookie, sessionId };
}

/** The headers of the origin's call worth passing on to Gatehouse (not the relay's hop-by-hop ones). */
function passedOn(headers: Record<string, string>): Record<string, string> {
  const hop = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding"]);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hop.has(name)));
}

type ParkedCall = { id: string; method: string; path: string; headers: Record<string, string>; body: string };

/**
 * Runs `request` while answering every call the origin makes to Gatehouse (collected from
 * the relay) with this test's Gatehouse, as the origin's own network would.
 */
async function answeringTheOrigin<T>(s: Setup, request: () => Promise<T>): Promise<T> {
  await fetch(`${plain.relayUrl}/_relay/clock`, { method: "POST", body: JSON.stringify({ nowMs: s.h.clock.ms }) });
  const stop = new AbortController();
  const relay = (async () => {
    for (;;) {
      let call: ParkedCall;
      try {
        call = await (await fetch(`${plain.relayUrl}/_relay/next`, { signal: stop.signal })).json();
      } catch {
        return; // aborted: the request has its answer
      }
      const answer = await s.h.call(call.path, { env: s.e, method: call.method, headers: passedOn(call.headers), ...(call.body ? { rawBody: call.body } : {}) });
      const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      await fetch(`${plain.relayUrl}/_relay/answer/${call.id}`, { method: "POST", body: JSON.stringify({ status: answer.status, contentType: answer.headers.get("content-type"), body }) });
    }
  })();
  try {
    return await request();
  } finally {
    stop.abort();
    await relay;
  }
}

/** A client's request through Gatehouse to the origin. The Node origin's verifier reads the harness's clock. */
function throughGatehouse<T = ErrorBody>(s: Setup, path: string, options: Parameters<Harness["call"]>[1] = {}): Promise<CallResult<T>> {
  return answeringTheOrigin(s, () => s.h.call<T>(path, { env: s.e, ...options }));
}

type WhoAmI = { claims: { sub: string; tid: string; sid: string; aud: string }; received: Record<string, string | null> };

describe("any HTTP origin behind Gatehouse", () => {
  it("a plain HTTP origin verifies the assertion Gatehouse sends with the product package, against Gatehouse's JWKS", async () => {
    const s = await signedInMember();
    const res = await throughGatehouse<WhoAmI>(s, "/whoami", { cookie: s.cookie });
    expect(res.status).toBe(200);
    expect(res.body.claims).toMatchObject({ sub: s.t.member.id, tid: s.t.id, sid: s.sessionId, aud: plain.audience });
  });

  it("without a session the origin's public page is served anonymously, and its protected page is never reached", async () => {
    const s = await signedInMember();
    const anonymous = await throughGatehouse<{ signedIn: boolean }>({ ...s, e: withEnv({ ...s.e, PUBLIC_PATHS: "/" }) }, "/");
    expect(anonymous).toMatchObject({ status: 200, body: { signedIn: false } });
    expect(anonymous.headers.get("x-answered-by")).toBe("plain-origin");
    const refused = await throughGatehouse(s, "/whoami", { headers: { accept: "application/json" } });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: "UNAUTHORIZED" });
    expect(refused.headers.get("x-answered-by")).toBeNull();
  });
});

describe("what the origin learns about the client", () => {
  it("the origin receives the client's address and the public host and scheme in the proxy headers, written over whatever the client sent", async () => {
    const s = await signedInMember();
    const spoofed = { "x-forwarded-for": "198.51.100.66", "x-real-ip": "198.51.100.66", "x-forwarded-host": "evil.example", "x-forwarded-proto": "http", forwarded: "for=198.51.100.66;host=evil.example" };
    const res = await throughGatehouse<WhoAmI>(s, "/whoami", { cookie: s.cookie, ip: "203.0.113.44", headers: spoofed });
    expect(res.status).toBe(200);
    expect(res.body.received).toMatchObject({
      "x-forwarded-for": "203.0.113.44",
      "x-real-ip": "203.0.113.44",
      "x-forwarded-host": new URL(env.PUBLIC_ORIGIN).host,
      "x-forwarded-proto": "https",
      forwarded: null,
    });
  });
});

describe("the origin's step-up and audit events over the product HTTP API", () => {
  it("without a grant the origin's step-up call answers 428 STEP_UP_REQUIRED, which the origin hands the client, and nothing is recorded", async () => {
    const s = await signedInMember();
    const res = await throughGatehouse(s, "/notes/n1/delete", { method: "POST", cookie: s.cookie, headers: { accept: "application/json" } });
    expect(res.status).toBe(428);
    expect(res.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "NOTE_DELETE", label: "delete a note" });
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'app.note.deleted'").bind(s.t.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("once the user has stepped up, the origin's step-up call passes and its audit event is recorded as the user, with the client's address, in the tenant's chain", async () => {
    const s = await signedInMember();
    await s.h.stepUp(s.cookie, "NOTE_DELETE", s.t.member);
    const res = await throughGatehouse<{ deleted: string; audit: { id: string; seq: number } }>(s, "/notes/n2/delete", { method: "POST", cookie: s.cookie, ip: "203.0.113.45", headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deleted: "n2", audit: { id: expect.any(String), seq: expect.any(Number) } });
    const row = await auditStore.prepare("SELECT tenant_id, action, outcome, actor_user_id, target_id, ip FROM audit_logs WHERE tenant_id = ? AND id = ?").bind(s.t.id, res.body.audit.id).first();
    expect(row).toEqual({ tenant_id: s.t.id, action: "app.note.deleted", outcome: "SUCCESS", actor_user_id: s.t.member.id, target_id: "n2", ip: "203.0.113.45" });
    // The grant was single use: the next delete asks again.
    expect((await throughGatehouse(s, "/notes/n3/delete", { method: "POST", cookie: s.cookie, headers: { accept: "application/json" } })).status).toBe(428);
  });

  it("a browser cannot call the product API with the user's cookies, and a server without the product credential is refused", async () => {
    const s = await signedInMember();
    const fromPage = await s.h.call("/_gatehouse/api/product/step-up", {
      env: s.e,
      method: "POST",
      cookie: s.cookie,
      rawBody: JSON.stringify({ purpose: "NOTE_DELETE" }),
      headers: { "content-type": "application/json", "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty", origin: env.PUBLIC_ORIGIN },
    });
    expect(fromPage.status).toBe(403);
    expect(fromPage.body).toMatchObject({ error: "BROWSER_REFUSED" });
    const noToken = await s.h.call("/_gatehouse/api/product/step-up", { env: s.e, method: "POST", rawBody: JSON.stringify({ purpose: "NOTE_DELETE" }), headers: { "content-type": "application/json" } });
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ error: "PRODUCT_CREDENTIAL_INVALID" });
  });
});

// The docs' Python origin (standard library only): the same three things, over the same HTTP.
describe.skipIf(plain.pythonOriginUrl === null)("the stdlib-only Python origin of the docs (examples/python-origin/origin.py)", () => {
  const python = plain.pythonOriginUrl ?? "";

  it("verifies the assertion by hand (ES256 against the JWKS, iss, aud, exp, iat age) and reads the proxy headers Gatehouse wrote", async () => {
    const s = await signedInMember(python);
    const res = await throughGatehouse<WhoAmI>(s, "/whoami", { cookie: s.cookie, ip: "203.0.113.46", headers: { "x-forwarded-for": "198.51.100.66" } });
    expect(res.status).toBe(200);
    expect(res.body.claims).toMatchObject({ sub: s.t.member.id, tid: s.t.id, sid: s.sessionId });
    expect(res.body.received).toMatchObject({ "x-forwarded-for": "203.0.113.46", "x-forwarded-proto": "https" });
  });

  it("refuses an assertion Gatehouse did not sign", async () => {
    const s = await signedInMember(python);
    const other = withEnv({ ...s.e, ASSERTION_SIGNING_KEYS: await keySetText("k-plain-origin") });
    const res = await throughGatehouse(s, "/whoami", { cookie: s.cookie, env: other });
    expect(res.status).toBe(401);
  });

  it("refuses an assertion issued more than 60 s (plus 5 s of skew) ago, whatever its exp says: the iat age a verifier not built on jose checks by hand", async () => {
    const s = await signedInMember(python);
    const [jwk] = (JSON.parse(KEYS) as { keys: (JsonWebKey & { kid: string })[] }).keys;
    const key = await importJWK(jwk as JsonWebKey & { kid: string }, "ES256");
    const nowSeconds = Math.floor(s.h.clock.ms / 1000);
    const signed = (iat: number) =>
      new SignJWT({ tid: s.t.id, sid: s.sessionId, email: s.t.member.email, name: "m", role: "member", permissions: [], amr: ["pwd"] })
        .setProtectedHeader({ alg: "ES256", kid: jwk?.kid ?? "" })
        .setIssuer("gatehouse").setAudience(plain.audience).setSubject(s.t.member.id).setJti(`j${iat}`)
        .setIssuedAt(iat).setExpirationTime(nowSeconds + 600)
        .sign(key);
    // Straight to the origin, as only Gatehouse should reach it: the token is the test's.
    const direct = async (token: string) => (await answeringTheOrigin(s, () => fetch(`${python}/whoami`, { headers: { "gatehouse-jwt-assertion": token } }))).status;
    expect(await direct(await signed(nowSeconds - 30))).toBe(200);
    expect(await direct(await signed(nowSeconds - 70))).toBe(401);
  });

  it("asks for step-up and records its audit event over the product API", async () => {
    const s = await signedInMember(python);
    const json = { accept: "application/json" };
    expect((await throughGatehouse(s, "/notes/p1/delete", { method: "POST", cookie: s.cookie, headers: json })).body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "NOTE_DELETE" });
    await s.h.stepUp(s.cookie, "NOTE_DELETE", s.t.member);
    const res = await throughGatehouse<{ audit: { id: string } }>(s, "/notes/p1/delete", { method: "POST", cookie: s.cookie, headers: json });
    expect(res.status).toBe(200);
    const row = await auditStore.prepare("SELECT tenant_id, action, actor_user_id, target_id FROM audit_logs WHERE tenant_id = ? AND id = ?").bind(s.t.id, res.body.audit.id).first();
    expect(row).toEqual({ tenant_id: s.t.id, action: "app.note.deleted", actor_user_id: s.t.member.id, target_id: "p1" });
  });
});
