// requirePhishingResistant "everyone", and where the policy is read from: the tenant's edge
// document, like requireTwoFactor (src/edge-document/rules-and-policy.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { tenantEdgeKey } from "../src/edge-document/document";
import { Harness, seedTenant } from "./helpers";
import { setPhishingResistance, signedInWithPasskey } from "./passkey-fixtures";

type Challenge = { error: string; methods: string[]; phishingResistantRequired?: boolean };

describe("with requirePhishingResistant everyone", () => {
  it("every purpose of every user takes a passkey alone: a member's recovery code and an admin's TOTP code for self-service are 403 PHISHING_RESISTANT_REQUIRED", async () => {
    const h = new Harness();
    const t = await seedTenant("pkq");
    const member = await signedInWithPasskey(h, t.member);
    const admin = await signedInWithPasskey(h, t.admin);
    await setPhishingResistance(h, t.owner, "everyone");
    for (const purpose of ["NOTE_DELETE", "BILLING_EXPORT"]) {
      const page = await h.call<Challenge>(`/api/security/stepup/challenge?purpose=${purpose}`, { cookie: member.cookie });
      expect([purpose, page.body.methods, page.body.phishingResistantRequired]).toEqual([purpose, ["passkey"], true]);
    }
    const recovery = await h.call("/api/security/stepup/verify", { cookie: member.cookie, body: { purpose: "REVOKE_SESSION", recoveryCode: member.recoveryCodes?.[0] } });
    expect([recovery.status, recovery.body.error]).toEqual([403, "PHISHING_RESISTANT_REQUIRED"]);
    h.clock.advanceSeconds(30);
    const totp = await h.call("/api/security/stepup/verify", { cookie: admin.cookie, body: { purpose: "PASSWORD_CHANGE", code: h.code(t.admin) } });
    expect([totp.status, totp.body.error]).toEqual([403, "PHISHING_RESISTANT_REQUIRED"]);
  });
});

describe("the phishing-resistance policy", () => {
  it("is read from the tenant's edge document: an owner's change applies on the admin's next request, and the document, not D1, decides until it is rebuilt", async () => {
    const h = new Harness();
    const t = await seedTenant("pkq");
    const { cookie } = await signedInWithPasskey(h, t.admin);
    const methods = async () => (await h.call<Challenge>(`/api/users/${t.member.id}/force-logout`, { cookie, body: {} })).body.methods;
    expect(await methods()).toEqual(["passkey", "totp", "recovery_code"]);
    await setPhishingResistance(h, t.owner, "admins");
    expect(await methods()).toEqual(["passkey"]);

    // D1 changed behind the document's back (no rewrite): the document still decides.
    await env.DB.prepare("UPDATE tenants SET require_phishing_resistant = 'off' WHERE id = ?").bind(t.id).run();
    h.clock.advanceSeconds(2); // past this isolate's copy: the KV document answers
    expect(await methods()).toEqual(["passkey"]);
    // Rebuilt from D1 once the document is gone.
    await env.SESSION_CACHE.delete(tenantEdgeKey(t.id));
    h.clock.advanceSeconds(2);
    expect(await methods()).toEqual(["passkey", "totp", "recovery_code"]);
  });
});
