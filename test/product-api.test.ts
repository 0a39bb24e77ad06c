// The product's HTTP API (src/product-api/routes.ts): an origin that is not a Worker records
// audit events and asks for step-up with its product credential and the user's assertion,
// through the very calls the RPC entrypoint runs (src/rpc/calls.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { ASSERTION_HEADER } from "../src/gateway/assertion";
import { sha256Hex } from "../src/lib/crypto";
import { Harness, configured, seedTenant, withEnv } from "./helpers";
import { keySetText } from "./gateway-fixtures";
import { createProductApiClient } from "../packages/product/src/index";
import { auditStore } from "./audit-store";

const TOKEN = "product-token-0123456789abcdefghijklmnopqrstuvwxyz";
const OLD_TOKEN = "product-token-old-0123456789abcdefghijklmnopqrstu";
let KEYS = "";
beforeAll(async () => {
  KEYS = await keySetText("k-product");
});

/** The product's service binding: keeps the assertion of each request it receives. */
function assertionCatcher() {
  const assertions: string[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      assertions.push(new Request(input, init).headers.get(ASSERTION_HEADER) ?? "");
      return new Response("ok");
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, assertions };
}

function productEnv(origin: Fetcher, extra: Parameters<typeof withEnv>[0] = {}) {
  return withEnv({ ORIGIN: origin, ASSERTION_AUDIENCE: "acme-notes", ASSERTION_SIGNING_KEYS: KEYS, PRODUCT_API_TOKENS: JSON.stringify([TOKEN]), ...extra });
}

/** A signed-in member, and the assertion the origin received on one of their requests. */
async function memberWithAssertion(extra: Parameters<typeof withEnv>[0] = {}) {
  const h = new Harness();
  const t = await seedTenant("pa");
  const { cookie, sessionId } = await h.login(t.member.email);
  const origin = assertionCatcher();
  const e = productEnv(origin.binding, extra);
  expect((await h.call("/app", { env: e, cookie })).status).toBe(200);
  const assertion = origin.assertions[0] ?? "";
  expect(assertion).not.toBe("");
  return { h, t, cookie, sessionId, e, assertion };
}

const EVENT = { action: "app.note.deleted", outcome: "SUCCESS", targetType: "note", targetId: "note_7" };

/** A call as the product's server makes it: no browser headers. */
function serverCall(h: Harness, path: string, e: ReturnType<typeof productEnv>, assertion: string, body: unknown, token = TOKEN, headers: Record<string, string> = {}) {
  return h.call(`/_gatehouse/api/product/${path}`, { env: e, method: "POST", rawBody: JSON.stringify(body), headers: { authorization: `Bearer ${token}`, [ASSERTION_HEADER]: assertion, "content-type": "application/json", ...headers } });
}

describe("recording an audit event over HTTP", () => {
  it("an origin with the product credential and the user's assertion records an app. event as that user in the session's tenant", async () => {
    const { h, t, e, assertion } = await memberWithAssertion();
    const res = await serverCall(h, "audit-events", e, assertion, EVENT);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, id: expect.any(String), seq: expect.any(Number) });
    const row = await auditStore.prepare("SELECT tenant_id, action, actor_user_id, target_id FROM audit_logs WHERE tenant_id = ? AND id = ?").bind(t.id, (res.body as unknown as { id: string }).id).first();
    expect(row).toEqual({ tenant_id: t.id, action: "app.note.deleted", actor_user_id: t.member.id, target_id: "note_7" });
  });

  it("an event outside the app. namespace is refused as over RPC, and nothing is recorded", async () => {
    const { h, t, e, assertion } = await memberWithAssertion();
    const res = await serverCall(h, "audit-events", e, assertion, { ...EVENT, action: "USER_DELETED" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "VALIDATION_FAILED" });
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'USER_DELETED'").bind(t.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("the session and the user come only from the assertion: a body naming sessionId or userId is refused", async () => {
    const { h, t, e, assertion, sessionId } = await memberWithAssertion();
    const res = await serverCall(h, "audit-events", e, assertion, { ...EVENT, sessionId, userId: t.owner.id });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "VALIDATION_FAILED" });
  });

  it("a revoked session's assertion records nothing: 401, as over RPC", async () => {
    const { h, t, e, assertion, cookie } = await memberWithAssertion();
    expect((await h.call("/api/auth/logout", { cookie, method: "POST" })).status).toBe(200);
    const res = await serverCall(h, "audit-events", e, assertion, EVENT);
    expect(res.status).toBe(401);
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'app.note.deleted'").bind(t.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe("who may call the product API", () => {
  it("a missing or wrong product credential is 401 PRODUCT_CREDENTIAL_INVALID, and nothing is recorded", async () => {
    const { h, t, e, assertion } = await memberWithAssertion();
    for (const token of ["", "wrong-token-0123456789abcdefghijklmnopqrstuvwxyz", TOKEN.slice(0, -1)]) {
      const res = await serverCall(h, "audit-events", e, assertion, EVENT, token);
      expect(res.status, token).toBe(401);
      expect(res.body).toMatchObject({ error: "PRODUCT_CREDENTIAL_INVALID" });
    }
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'app.note.deleted'").bind(t.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("the credential rotates: each token listed is accepted, also when kept as its sha256 digest, and a removed one no longer is", async () => {
    const rotating = { PRODUCT_API_TOKENS: JSON.stringify([`sha256:${await sha256Hex(TOKEN)}`, OLD_TOKEN]) };
    const { h, assertion, e } = await memberWithAssertion(rotating);
    expect((await serverCall(h, "audit-events", e, assertion, EVENT, TOKEN)).status).toBe(200);
    expect((await serverCall(h, "audit-events", e, assertion, EVENT, OLD_TOKEN)).status).toBe(200);
    const rotated = withEnv({ ...e, PRODUCT_API_TOKENS: TOKEN });
    expect((await serverCall(h, "audit-events", rotated, assertion, EVENT, OLD_TOKEN)).status).toBe(401);
  });

  it("a request a browser sends (fetch metadata, Origin or cookies) is 403 BROWSER_REFUSED, even with the credential and a valid assertion", async () => {
    const { h, t, e, assertion, cookie } = await memberWithAssertion();
    const browserHeaders: Record<string, string>[] = [{ "sec-fetch-site": "same-origin" }, { "sec-fetch-dest": "empty", "sec-fetch-mode": "cors" }, { "sec-fetch-user": "?1" }, { origin: "https://gatehouse.test" }, { cookie }];
    for (const headers of browserHeaders) {
      const res = await serverCall(h, "audit-events", e, assertion, EVENT, TOKEN, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body).toMatchObject({ error: "BROWSER_REFUSED" });
    }
    const rows = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'app.note.deleted'").bind(t.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("a server whose fetch sends Sec-Fetch-Mode alone (Node's fetch does, on every request) is not taken for a browser", async () => {
    const { h, e, assertion } = await memberWithAssertion();
    const res = await serverCall(h, "audit-events", e, assertion, EVENT, TOKEN, { "sec-fetch-mode": "cors" });
    expect(res.status).toBe(200);
  });

  it("an assertion over 60 s old, for another audience or missing is 401 ASSERTION_INVALID", async () => {
    const { h, e, assertion } = await memberWithAssertion();
    expect((await serverCall(h, "audit-events", withEnv({ ...e, ASSERTION_AUDIENCE: "other-product" }), assertion, EVENT)).body).toMatchObject({ error: "ASSERTION_INVALID" });
    expect((await serverCall(h, "audit-events", e, "", EVENT)).body).toMatchObject({ error: "ASSERTION_INVALID" });
    h.clock.ms += 61_000;
    const old = await serverCall(h, "audit-events", e, assertion, EVENT);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: "ASSERTION_INVALID" });
  });

  it("without PRODUCT_API_TOKENS the product API does not exist: it answers as an unknown path", async () => {
    const { h, e, assertion } = await memberWithAssertion();
    const res = await serverCall(h, "audit-events", withEnv({ ...e, PRODUCT_API_TOKENS: "" }), assertion, EVENT);
    const unknown = await h.call("/_gatehouse/api/no-such-route", { env: e, method: "POST", rawBody: "{}" });
    expect(res.status).toBe(unknown.status);
    expect(res.body).toEqual(unknown.body);
  });

  it.each(["short-token", JSON.stringify(["sha256:abc"]), '["ok-but-not-closed"'])("PRODUCT_API_TOKENS %s stops the Worker", (value) => {
    expect(() => parseConfig(configured({ PRODUCT_API_TOKENS: value }))).toThrow(ConfigError);
  });
});

describe("asking for step-up over HTTP", () => {
  it("without a grant it is 428 STEP_UP_REQUIRED as over RPC; a single-use grant answers ok once, then 428 again", async () => {
    const { h, t, e, assertion, cookie } = await memberWithAssertion();
    const first = await serverCall(h, "step-up", e, assertion, { purpose: "NOTE_DELETE" });
    expect(first.status).toBe(428);
    expect(first.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "NOTE_DELETE", label: "delete a note" });
    await h.stepUp(cookie, "NOTE_DELETE", t.member);
    expect((await serverCall(h, "step-up", e, assertion, { purpose: "NOTE_DELETE" })).body).toEqual({ ok: true });
    expect((await serverCall(h, "step-up", e, assertion, { purpose: "NOTE_DELETE" })).status).toBe(428);
  });

  it("one of Gatehouse's own purposes is refused as over RPC: 400 VALIDATION_FAILED", async () => {
    const { h, e, assertion } = await memberWithAssertion();
    const res = await serverCall(h, "step-up", e, assertion, { purpose: "REVOKE_SESSION" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "VALIDATION_FAILED" });
  });
});

describe("the product package's HTTP client", () => {
  it("records an event and asks for step-up through the product API, answering as the RPC does", async () => {
    const { h, e, assertion } = await memberWithAssertion();
    const client = createProductApiClient({
      gatehouseUrl: "https://gatehouse.test",
      token: TOKEN,
      fetch: async (url, init) => {
        const res = await h.call(new URL(url).pathname, { env: e, method: init.method ?? "POST", rawBody: String(init.body), headers: init.headers as Record<string, string> });
        return Response.json(res.body, { status: res.status });
      },
    });
    expect(await client.recordAuditEvent(assertion, { action: "app.note.deleted", outcome: "SUCCESS" })).toMatchObject({ ok: true, id: expect.any(String) });
    expect(await client.requireStepUp(assertion, "NOTE_DELETE")).toMatchObject({ ok: false, status: 428, error: "STEP_UP_REQUIRED", purpose: "NOTE_DELETE" });
  });
});
