import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Harness, PASSWORD, type SeededTenant, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

afterEach(() => vi.restoreAllMocks());

const NEW_PASSWORD = "a new and rather long passphrase 42";
const HOOK = { EMAIL_WEBHOOK_URL: "https://product.example/hooks/email", EMAIL_WEBHOOK_SECRET: "a-local-test-secret-of-at-least-32-characters" };

/** The admin issues a reset link for the member. */
async function issueLink(h: Harness, t: SeededTenant) {
  const admin = await h.session(t.admin);
  await h.stepUp(admin.cookie, "PASSWORD_RESET", t.admin);
  const res = await h.call<{ link: string; emailed: boolean }>(`/api/users/${t.member.id}/password-reset`, { cookie: admin.cookie, body: {} });
  expect(res.status).toBe(200);
  return { token: new URL(res.body.link).searchParams.get("token") ?? "", body: res.body, admin };
}

const redeem = (h: Harness, token: string, password = NEW_PASSWORD) => h.call("/api/auth/password-reset", { body: { token, password } });

/** A local receiver in place of the network: records what Gatehouse posted. */
function localReceiver() {
  const received: { to: string; template: string; link: string }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    received.push(JSON.parse(await new Request(input, init).text()));
    return new Response(null, { status: 202 });
  });
  return received;
}

describe("admin-initiated password reset", () => {
  it("a reset link is single use, even when redeemed twice in parallel", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { token } = await issueLink(h, t);
    const results = await Promise.all([redeem(h, token), redeem(h, token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)?.body.error).toBe("RESET_LINK_USED");
    expect((await redeem(h, token, `${NEW_PASSWORD} again`)).status).toBe(409);
    const ok = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'PASSWORD_RESET' AND outcome = 'SUCCESS'").bind(t.id).first<{ n: number }>();
    expect(ok?.n).toBe(1);
  });

  it("issuing a link ends the member's sessions; redeeming it sets the password and ends every session again", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const before = await h.login(t.member.email);
    const { token, body } = await issueLink(h, t);
    expect(body.link).toMatch(/^https:\/\/gatehouse\.test\/_gatehouse\/reset-password\?token=pwr_/);
    expect(body.emailed).toBe(false);
    expect((await h.call("/api/me", { cookie: before.cookie })).status).toBe(401);
    expect((await redeem(h, token)).status).toBe(200);
    expect((await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } })).status).toBe(401);
    expect((await h.login(t.member.email, NEW_PASSWORD)).userId).toBe(t.member.id);
  });

  it("only the SHA-256 of the link's 256-bit secret is stored", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { token } = await issueLink(h, t);
    const secret = token.split(".")[1] ?? "";
    expect(secret).toHaveLength(43); // 32 bytes, base64url
    const row = await env.DB.prepare("SELECT * FROM password_reset_tokens WHERE user_id = ?").bind(t.member.id).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it("a link expires after one hour (410), and a wrong secret is 404", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { token } = await issueLink(h, t);
    const forged = `${token.split(".")[0]}.${"A".repeat(43)}`;
    expect((await redeem(h, forged)).body.error).toBe("RESET_LINK_NOT_FOUND");
    h.clock.advanceSeconds(3600);
    const res = await redeem(h, token);
    expect(res.status).toBe(410);
    expect(res.body.error).toBe("RESET_LINK_EXPIRED");
  });

  it("a weak new password is 400 WEAK_PASSWORD and the link stays usable", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { token } = await issueLink(h, t);
    const weak = await redeem(h, token, "password");
    expect(weak.status).toBe(400);
    expect(weak.body.error).toBe("WEAK_PASSWORD");
    expect((await redeem(h, token)).status).toBe(200);
  });

  it("needs step-up and follows the rank rule; another tenant's member is 404", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const other = await seedTenant("other");
    const admin = await h.session(t.admin);
    expect((await h.call(`/api/users/${t.member.id}/password-reset`, { cookie: admin.cookie, body: {} })).status).toBe(428);
    await h.stepUp(admin.cookie, "PASSWORD_RESET", t.admin);
    expect((await h.call(`/api/users/${t.owner.id}/password-reset`, { cookie: admin.cookie, body: {} })).status).toBe(403);
    await h.stepUp(admin.cookie, "PASSWORD_RESET", t.admin);
    expect((await h.call(`/api/users/${other.member.id}/password-reset`, { cookie: admin.cookie, body: {} })).status).toBe(404);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM password_reset_tokens WHERE tenant_id IN (?, ?)").bind(t.id, other.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("is sent through the email hook when one is configured", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const received = localReceiver();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "PASSWORD_RESET", t.admin);
    const res = await h.call<{ link: string; emailed: boolean }>(`/api/users/${t.member.id}/password-reset`, { cookie: admin.cookie, body: {}, env: withEnv(HOOK) });
    expect(res.body.emailed).toBe(true);
    expect(received).toEqual([{ id: expect.stringMatching(/^msg_/), to: t.member.email, template: "password_reset", link: res.body.link, tenant: expect.anything() }]);
  });
});

describe("forgot password", () => {
  it("answers the same for an unknown email as for a known one, and sends a link only to a known one", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const received = localReceiver();
    const known = await h.call("/api/auth/forgot-password", { body: { email: t.member.email }, env: withEnv(HOOK) });
    const unknown = await h.call("/api/auth/forgot-password", { body: { email: `nobody@${t.slug}.test` }, env: withEnv(HOOK) });
    expect(unknown.status).toBe(202);
    expect([unknown.status, unknown.body]).toEqual([known.status, known.body]);
    expect(received.map((m) => m.to)).toEqual([t.member.email]);
    const token = new URL(received[0]?.link ?? "https://x/").searchParams.get("token") ?? "";
    expect((await redeem(h, token)).status).toBe(200);
  });

  it("without an email hook nothing is sent and the answer says so (the page tells the user to ask an admin)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const received = localReceiver();
    const res = await h.call<{ emailConfigured: boolean }>("/api/auth/forgot-password", { body: { email: t.member.email } });
    expect(res.status).toBe(202);
    expect(res.body.emailConfigured).toBe(false);
    expect(received).toEqual([]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM password_reset_tokens WHERE user_id = ?").bind(t.member.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe("a reset through the link, without a session", () => {
  it("an impersonation carried by a session the reset ends is recorded as ended in the tenant's log", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "IMPERSONATION", t.admin);
    expect((await h.call(`/api/impersonate/${t.member.id}`, { cookie: admin.cookie, body: { reason: "Ticket 9: reports" } })).status).toBe(200);
    const received = localReceiver();
    await h.call("/api/auth/forgot-password", { body: { email: t.admin.email }, env: withEnv(HOOK) });
    const token = new URL(received[0]?.link ?? "https://x/").searchParams.get("token") ?? "";
    expect((await redeem(h, token)).status).toBe(200);
    expect((await h.call("/api/me", { cookie: admin.cookie })).status).toBe(401);
    const ended = await auditStore.prepare("SELECT actor_user_id, target_id FROM audit_logs WHERE tenant_id = ? AND action = 'IMPERSONATION_ENDED'").bind(t.id).all();
    expect(ended.results).toEqual([{ actor_user_id: t.admin.id, target_id: t.member.id }]);
  });
});

describe("a change of the password, or of the account's access, retires unused reset links", () => {
  const linkRow = (token: string) =>
    env.DB.prepare("SELECT used_at FROM password_reset_tokens WHERE id = ?").bind(token.split(".")[0]).first<{ used_at: number | null }>();

  it("a reset link issued before the member changes their own password no longer works after it", async () => {
    for (const endOtherSessions of [true, false]) {
      const h = new Harness();
      const t = await seedTenant();
      const { token } = await issueLink(h, t);
      const member = await h.login(t.member.email);
      await h.stepUp(member.cookie, "PASSWORD_CHANGE", t.member);
      const changed = await h.call("/api/account/password", { cookie: member.cookie, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, endOtherSessions } });
      expect(changed.status).toBe(200);
      const res = await redeem(h, token, `${NEW_PASSWORD} from the old link`);
      expect([endOtherSessions, res.status, res.body.error]).toEqual([endOtherSessions, 409, "RESET_LINK_USED"]);
      expect((await h.login(t.member.email, NEW_PASSWORD)).userId).toBe(t.member.id);
    }
  });

  it("an MFA reset, disabling or removing the member retires their unused reset link in the same change", async () => {
    for (const what of ["mfa-reset", "disable", "remove"] as const) {
      const h = new Harness();
      const t = await seedTenant();
      // The owner acts on the admin: the admin has a second factor to reset.
      const owner = await h.session(t.owner);
      await h.stepUp(owner.cookie, "PASSWORD_RESET", t.owner);
      const issued = await h.call<{ link: string }>(`/api/users/${t.admin.id}/password-reset`, { cookie: owner.cookie, body: {} });
      const token = new URL(issued.body.link).searchParams.get("token") ?? "";
      await h.stepUp(owner.cookie, what === "mfa-reset" ? "MFA_RESET" : "USER_ACCESS_CHANGE", t.owner);
      const res = what === "remove" ? await h.call(`/api/users/${t.admin.id}`, { cookie: owner.cookie, method: "DELETE" }) : await h.call(`/api/users/${t.admin.id}/${what}`, { cookie: owner.cookie, body: {} });
      expect([what, res.status]).toEqual([what, 200]);
      expect([what, (await linkRow(token))?.used_at]).toEqual([what, h.clock.ms]);
      if (what === "disable") {
        // Enabled again, the member still cannot use the link issued before.
        await h.stepUp(owner.cookie, "USER_ACCESS_CHANGE", t.owner);
        expect((await h.call(`/api/users/${t.admin.id}/enable`, { cookie: owner.cookie, body: {} })).status).toBe(200);
      }
      if (what !== "remove") expect([what, (await redeem(h, token)).body.error]).toEqual([what, "RESET_LINK_USED"]);
    }
  });
});
