// Stepping up with a passkey: offered first, its challenge bound to the session, the purpose
// and 5 minutes, single use, answered only by the user's own credential; audited; and
// accepted for the product's purposes too.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { addPasskey, auditRowsOf, errorOf, newAuthenticator, passkeySignIn, signedInWithPasskey, stepUpOptions, verifyStepUp } from "./passkey-fixtures";
import { realTimeHarness } from "./rpc-fixtures";
import { type Malformation, malformed } from "./webauthn/malformed";

const grants = async (sessionId: string) =>
  (await env.DB.prepare("SELECT purpose, method FROM stepup_challenges WHERE session_id = ? AND verified_at IS NOT NULL").bind(sessionId).all<{ purpose: string; method: string }>()).results;

describe("a step-up for a user with a passkey", () => {
  it("lists passkey first in the 428's methods", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie } = await signedInWithPasskey(h, t.admin);
    const res = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} });
    expect([res.status, res.body.purpose, res.body.methods]).toEqual([428, "FORCE_LOGOUT", ["passkey", "totp", "recovery_code"]]);
  });

  it("offers options listing the user's own passkeys, with user verification required; a user without one is 400 METHOD_NOT_ALLOWED", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, credentialId } = await signedInWithPasskey(h, t.admin);
    const second = await addPasskey(h, t.admin, cookie, newAuthenticator());
    await signedInWithPasskey(h, t.owner);
    const options = await stepUpOptions(h, cookie, "FORCE_LOGOUT");
    expect(options.allowCredentials?.map((d) => d.id).sort()).toEqual([credentialId, second.credentialId].sort());
    expect(options.userVerification).toBe("required");
    const without = await h.session(t.member);
    const res = await h.call("/api/security/stepup/options", { cookie: without.cookie, body: { purpose: "REVOKE_SESSION" } });
    expect([res.status, res.body.error]).toEqual([400, "METHOD_NOT_ALLOWED"]);
  });

  it("earns the grant a code earns, audited as STEP_UP_VERIFIED with method passkey; a refused answer is a FAIL row naming the reason", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.admin);
    const refused = await verifyStepUp(h, cookie, "FORCE_LOGOUT", await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT"), { origin: "https://gatehouse.test.evil.example" }));
    expect([refused.status, errorOf(refused)]).toEqual([401, "PASSKEY_ORIGIN_MISMATCH"]);
    const verified = await verifyStepUp(h, cookie, "FORCE_LOGOUT", await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT")));
    expect(verified.status).toBe(200);
    expect(await grants(sessionId)).toContainEqual({ purpose: "FORCE_LOGOUT", method: "passkey" });
    expect((await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} })).status).toBe(200);
    const rows = (await auditRowsOf(t.id, "STEP_UP_VERIFIED")).filter((r) => r.metadata?.includes("FORCE_LOGOUT") || r.outcome === "FAIL");
    expect(rows.map((r) => [r.outcome, r.failure_reason, r.outcome === "SUCCESS" ? JSON.parse(r.metadata ?? "{}").method : null])).toEqual([
      ["FAIL", "PASSKEY_ORIGIN_MISMATCH", null],
      ["SUCCESS", null, "passkey"],
    ]);
  });
});

describe("a step-up challenge", () => {
  it("is single use: the same answer again is 401 PASSKEY_CHALLENGE_USED", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth } = await signedInWithPasskey(h, t.admin);
    const response = await auth.authenticate(await stepUpOptions(h, cookie, "IP_RULE_CHANGE"));
    expect((await verifyStepUp(h, cookie, "IP_RULE_CHANGE", response)).status).toBe(200);
    const again = await verifyStepUp(h, cookie, "IP_RULE_CHANGE", response);
    expect([again.status, errorOf(again)]).toEqual([401, "PASSKEY_CHALLENGE_USED"]);
  });

  it("lasts 5 minutes: an answer after that is 401 PASSKEY_CHALLENGE_EXPIRED and earns no grant", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.admin);
    const options = await stepUpOptions(h, cookie, "FORCE_LOGOUT");
    h.clock.advanceSeconds(5 * 60);
    const late = await verifyStepUp(h, cookie, "FORCE_LOGOUT", await auth.authenticate(options));
    expect([late.status, errorOf(late)]).toEqual([401, "PASSKEY_CHALLENGE_EXPIRED"]);
    expect((await grants(sessionId)).filter((g) => g.purpose === "FORCE_LOGOUT")).toEqual([]);
  });

  it("is bound to its purpose: an answer to one purpose's options sent for another is 401 PASSKEY_CHALLENGE_MISMATCH and earns no grant", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.admin);
    const res = await verifyStepUp(h, cookie, "IP_RULE_CHANGE", await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT")));
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_CHALLENGE_MISMATCH"]);
    expect((await grants(sessionId)).filter((g) => g.purpose === "IP_RULE_CHANGE")).toEqual([]);
  });

  it("is bound to its session: an answer to one session's options sent by another session of the same user is 401 PASSKEY_CHALLENGE_MISMATCH", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth } = await signedInWithPasskey(h, t.admin);
    const other = await passkeySignIn(h, auth);
    const otherCookie = (other.cookie ?? "").split(";")[0] ?? "";
    const res = await verifyStepUp(h, otherCookie, "FORCE_LOGOUT", await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT")));
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_CHALLENGE_MISMATCH"]);
    expect(await grants(other.body.sessionId)).toEqual([]);
  });

  it("is answered only by the user's own credential: a good signature by another user's is 401 PASSKEY_INVALID", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const owner = await signedInWithPasskey(h, t.owner);
    const admin = await signedInWithPasskey(h, t.admin);
    const [ownersCredential] = owner.auth.credentials;
    if (!ownersCredential) throw new Error("no credential");
    const stolen = admin.auth.adopt(ownersCredential);
    const res = await verifyStepUp(h, admin.cookie, "FORCE_LOGOUT", await admin.auth.authenticate(await stepUpOptions(h, admin.cookie, "FORCE_LOGOUT"), { credential: stolen }));
    expect([res.status, errorOf(res)]).toEqual([401, "PASSKEY_INVALID"]);
    expect((await grants(admin.sessionId)).filter((g) => g.purpose === "FORCE_LOGOUT")).toEqual([]);
  });
});

describe("a malformed step-up answer", () => {
  for (const how of ["truncated-authenticator-data", "invalid-cbor", "client-data-not-json"] satisfies Malformation[]) {
    it(`(${how}) is 400 PASSKEY_RESPONSE_MALFORMED, never a 500, and earns no grant`, async () => {
      const h = new Harness();
      const t = await seedTenant("pku");
      const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.admin);
      const res = await verifyStepUp(h, cookie, "FORCE_LOGOUT", malformed(await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT")), how));
      expect([res.status, errorOf(res)]).toEqual([400, "PASSKEY_RESPONSE_MALFORMED"]);
      expect((await grants(sessionId)).filter((g) => g.purpose === "FORCE_LOGOUT")).toEqual([]);
    });
  }
});

describe("failed passkey step-ups", () => {
  it("count towards the shared factor lockout: after 5, a right TOTP code is 429", async () => {
    const h = new Harness();
    const t = await seedTenant("pku");
    const { cookie, auth } = await signedInWithPasskey(h, t.admin);
    for (let i = 0; i < 5; i++) {
      const res = await verifyStepUp(h, cookie, "FORCE_LOGOUT", await auth.authenticate(await stepUpOptions(h, cookie, "FORCE_LOGOUT"), { userVerified: false }));
      expect(errorOf(res)).toBe("PASSKEY_USER_NOT_VERIFIED");
    }
    h.clock.advanceSeconds(30);
    const code = await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code: h.code(t.admin) } });
    expect([code.status, code.body.error]).toEqual([429, "TOO_MANY_ATTEMPTS"]);
  });
});

describe("the product's step-up purposes", () => {
  it("accept a passkey: the step-up page and the RPC list it first, and its grant satisfies the product's requireStepUp", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("pku");
    const { cookie, auth, sessionId } = await signedInWithPasskey(h, t.member);
    const page = await h.call("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie });
    expect(page.body.methods).toEqual(["passkey", "recovery_code"]);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "BILLING_EXPORT" })).toMatchObject({ status: 428, methods: ["passkey", "recovery_code"] });
    const verified = await verifyStepUp(h, cookie, "BILLING_EXPORT", await auth.authenticate(await stepUpOptions(h, cookie, "BILLING_EXPORT")));
    expect(verified.status).toBe(200);
    expect(await env.GATEHOUSE.requireStepUp({ sessionId, purpose: "BILLING_EXPORT" })).toEqual({ ok: true });
  });
});
