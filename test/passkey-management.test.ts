// One's own passkeys after adding them: list, rename, remove, whose they are, what the log
// keeps of them, and what removing a factor (one's own, or an admin's reset) leaves.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { totpCodeAt } from "../src/stepup/totp";
import { Harness, seedTenant } from "./helpers";
import { removeMember } from "./invitation-fixtures";
import { type PasskeyView, auditRowsOf, errorOf, passkeySignIn, passkeyStepUp, signedInWithPasskey, storedPasskeys } from "./passkey-fixtures";

const base = "/api/security/mfa/passkeys";

const unusedRecoveryCodes = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL").bind(userId).first<{ n: number }>())?.n ?? 0;

describe("one's own passkeys", () => {
  it("are listed, renamed and removed; PASSKEY_ADDED, PASSKEY_RENAMED and PASSKEY_REMOVED rows name the credential and its name, never its key", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { cookie, passkey, credentialId } = await signedInWithPasskey(h, t.admin);
    const [stored] = (await storedPasskeys(t.admin.id)).rows;
    const listed = await h.call<{ passkeys: PasskeyView[] }>(base, { cookie });
    expect(listed.body.passkeys).toEqual([passkey]);
    expect(JSON.stringify(listed.body)).not.toContain(stored?.public_key);

    const renamed = await h.call<{ passkey: PasskeyView }>(`${base}/${passkey.id}`, { cookie, method: "PATCH", body: { name: "Work laptop" } });
    expect([renamed.status, renamed.body.passkey.name]).toEqual([200, "Work laptop"]);
    await h.stepUp(cookie, "MFA_CHANGE", t.admin);
    expect((await h.call(`${base}/${passkey.id}`, { cookie, method: "DELETE" })).status).toBe(200);
    expect(await storedPasskeys(t.admin.id)).toEqual({ rows: [], count: 0 });

    const rows = [...(await auditRowsOf(t.id, "PASSKEY_ADDED")), ...(await auditRowsOf(t.id, "PASSKEY_RENAMED")), ...(await auditRowsOf(t.id, "PASSKEY_REMOVED"))];
    expect(rows.map((r) => [r.outcome, r.actor_user_id, r.target_id])).toEqual(Array(3).fill(["SUCCESS", t.admin.id, t.admin.id]));
    const [added, rename, removed] = rows.map((r) => ({ metadata: JSON.parse(r.metadata ?? "{}"), before: r.before, after: r.after }));
    expect(added?.metadata).toMatchObject({ passkeyId: passkey.id, credentialId, name: passkey.name });
    expect(rename).toMatchObject({ metadata: { passkeyId: passkey.id, credentialId }, before: JSON.stringify({ name: passkey.name }), after: JSON.stringify({ name: "Work laptop" }) });
    expect(removed?.metadata).toMatchObject({ passkeyId: passkey.id, credentialId, name: "Work laptop" });
    for (const row of rows) {
      expect(row.metadata).not.toHaveProperty("publicKey");
      expect(JSON.stringify(row)).not.toContain(stored?.public_key);
    }
  });

  it("another user's passkey id is 404 to rename and remove, and so is another tenant's; nothing changes", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const other = await seedTenant("pkm-other");
    const { passkey } = await signedInWithPasskey(h, t.admin);
    for (const user of [t.owner, other.owner]) {
      const { cookie } = await h.session(user);
      const rename = await h.call(`${base}/${passkey.id}`, { cookie, method: "PATCH", body: { name: "Mine now" } });
      expect([rename.status, rename.body.error]).toEqual([404, "PASSKEY_NOT_FOUND"]);
      await h.stepUp(cookie, "MFA_CHANGE", user);
      const remove = await h.call(`${base}/${passkey.id}`, { cookie, method: "DELETE" });
      expect([remove.status, remove.body.error]).toEqual([404, "PASSKEY_NOT_FOUND"]);
    }
    expect((await storedPasskeys(t.admin.id)).rows.map((p) => [p.id, p.name])).toEqual([[passkey.id, passkey.name]]);
  });

  it("removing one needs a fresh MFA_CHANGE step-up: 428 without it, and the passkey stays", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { cookie, passkey } = await signedInWithPasskey(h, t.admin);
    const res = await h.call(`${base}/${passkey.id}`, { cookie, method: "DELETE" });
    expect([res.status, res.body.error, res.body.purpose]).toEqual([428, "STEP_UP_REQUIRED", "MFA_CHANGE"]);
    expect((await storedPasskeys(t.admin.id)).count).toBe(1);
  });
});

describe("removing a factor", () => {
  // Fails today, on the enrolment gate rather than this rule: src/tenant/enrolment-gate.ts
  // counts TOTP alone as a second factor, so a member whose factor is a passkey is refused
  // everything (403 MFA_ENROLLMENT_REQUIRED) before reaching this route. `it` once the gate
  // asks hasSecondFactor.
  it("removing the last second factor of a member whose tenant requires two-factor is 409 LAST_FACTOR_REQUIRED, and the passkey stays", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { cookie, auth, passkey } = await signedInWithPasskey(h, t.member);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "TENANT_POLICY_CHANGE", t.owner);
    expect((await h.call("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor: true } })).status).toBe(200);
    await passkeyStepUp(h, cookie, "MFA_CHANGE", auth);
    const res = await h.call(`${base}/${passkey.id}`, { cookie, method: "DELETE" });
    expect([res.status, res.body.error]).toEqual([409, "LAST_FACTOR_REQUIRED"]);
    expect((await storedPasskeys(t.member.id)).count).toBe(1);
  });

  it("disabling TOTP keeps the recovery codes while a passkey remains", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { cookie, auth } = await signedInWithPasskey(h, t.member);
    expect(await unusedRecoveryCodes(t.member.id)).toBe(10);
    await passkeyStepUp(h, cookie, "MFA_ENROLL", auth);
    const enrol = await h.call<{ secret: string }>("/api/security/mfa/totp/enroll", { cookie, body: {} });
    h.clock.advanceSeconds(30);
    expect((await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: totpCodeAt(enrol.body.secret, h.clock.ms) } })).status).toBe(200);
    await passkeyStepUp(h, cookie, "MFA_CHANGE", auth);
    expect((await h.call("/api/security/mfa/totp/disable", { cookie, body: {} })).status).toBe(200);
    expect(await unusedRecoveryCodes(t.member.id)).toBe(10);
  });

  it("an admin's MFA reset removes the member's passkeys: passkey_count is 0 and the passkey no longer signs in", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { auth } = await signedInWithPasskey(h, t.member);
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "MFA_RESET", t.admin);
    const reset = await h.call<{ user: { passkeyCount: number } }>(`/api/users/${t.member.id}/mfa-reset`, { cookie: admin.cookie, body: {} });
    expect([reset.status, reset.body.user.passkeyCount]).toEqual([200, 0]);
    expect(await storedPasskeys(t.member.id)).toEqual({ rows: [], count: 0 });
    const signIn = await passkeySignIn(h, auth);
    expect([signIn.status, errorOf(signIn)]).toEqual([401, "PASSKEY_INVALID"]);
  });

  it("removing a member removes their passkeys, and the passkey no longer signs in", async () => {
    const h = new Harness();
    const t = await seedTenant("pkm");
    const { auth } = await signedInWithPasskey(h, t.member);
    const admin = await h.session(t.admin);
    expect((await removeMember(h, t.admin, admin.cookie, t.member.id)).status).toBe(200);
    expect(await storedPasskeys(t.member.id)).toEqual({ rows: [], count: 0 });
    const signIn = await passkeySignIn(h, auth);
    expect([signIn.status, errorOf(signIn)]).toEqual([401, "PASSKEY_INVALID"]);
  });
});
