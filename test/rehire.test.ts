import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { failedWith } from "../src/db/errors";
import { users } from "../src/db/schema";
import { randomId } from "../src/lib/crypto";
import { Harness, PASSWORD, type SeededUser, START_MS, seedTenant } from "./helpers";
import { accept, auditRows, invite, NEW_PASSWORD, tokenOf } from "./invitation-fixtures";

/** `actor` (stepped up) removes `target` from the tenant. */
async function remove(h: Harness, actor: SeededUser, cookie: string, target: SeededUser) {
  await h.stepUp(cookie, "USER_ACCESS_CHANGE", actor);
  const res = await h.call(`/api/users/${target.id}`, { cookie, method: "DELETE" });
  expect(res.status).toBe(200);
}

/** The leaver invited again by `actor` and accepting: the new account's id and session cookie. */
async function rejoin(h: Harness, cookie: string, email: string, role = "member") {
  const invited = await invite(h, cookie, email, role);
  expect(invited.status).toBe(201);
  const joined = await accept(h, tokenOf(invited.body.link), NEW_PASSWORD, "Back Again");
  expect(joined.status).toBe(200);
  return { id: joined.body.user.id, cookie: joined.sessionCookie ?? "" };
}

const me = (h: Harness, cookie: string) => h.call<{ user: { id: string } }>("/api/me", { cookie });

describe("re-inviting a removed member", () => {
  it("a removed member can be invited again and joins as a new account; the old account's history stays with the old id", async () => {
    const h = new Harness();
    const t = await seedTenant("rehire");
    const old = await h.signIn(t.admin); // the leaver: an admin with TOTP and an open session
    await env.DB.prepare("UPDATE users SET permission_overrides = ? WHERE id = ?").bind(JSON.stringify({ granted: ["SETTINGS_SECURITY_EDIT"], revoked: [] }), t.admin.id).run();
    const owner = await h.signIn(t.owner);
    await remove(h, t.owner, owner.cookie, t.admin);

    const back = await rejoin(h, owner.cookie, t.admin.email);
    expect(back.id).not.toBe(t.admin.id);
    expect((await me(h, back.cookie)).body.user.id).toBe(back.id);
    // Nothing of the old account comes back: not its session, second factor, role or extra permissions.
    expect((await me(h, old.cookie)).status).toBe(401);
    const fresh = await env.DB.prepare("SELECT email, role, removed_at, totp_enabled, totp_secret_enc, permission_overrides FROM users WHERE id = ?").bind(back.id).first();
    expect(fresh).toEqual({ email: t.admin.email, role: "member", removed_at: null, totp_enabled: 0, totp_secret_enc: null, permission_overrides: null });
    const codes = await env.DB.prepare("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?").bind(back.id).first<{ n: number }>();
    expect(codes?.n).toBe(0);
    const sessions = await env.DB.prepare("SELECT COUNT(*) AS n FROM user_sessions WHERE user_id = ?").bind(back.id).first<{ n: number }>();
    expect(sessions?.n).toBe(1);
    // The tombstone keeps its email and stays removed.
    const tombstone = await env.DB.prepare("SELECT email, removed_at FROM users WHERE id = ?").bind(t.admin.id).first<{ email: string; removed_at: number | null }>();
    expect(tombstone?.email).toBe(t.admin.email);
    expect(tombstone?.removed_at).not.toBeNull();

    // History: the old sign-in stays with the old id, the new account's rows name the new one.
    expect((await auditRows(t.id, "LOGIN_SUCCEEDED")).filter((r) => r.actorUserId === t.admin.id)).toHaveLength(1);
    expect((await auditRows(t.id, "INVITATION_ACCEPTED")).map((r) => r.actorUserId)).toEqual([back.id]);
    const oldHistory = await h.call<{ items: { actorUserId: string; action: string }[] }>(`/api/audit-logs?actorUserId=${t.admin.id}`, { cookie: owner.cookie });
    expect(oldHistory.status).toBe(200);
    expect(oldHistory.body.items.map((i) => i.action)).toContain("LOGIN_SUCCEEDED");
    expect(oldHistory.body.items.every((i) => i.actorUserId === t.admin.id)).toBe(true);
    const newHistory = await h.call<{ items: { action: string }[] }>(`/api/audit-logs?actorUserId=${back.id}`, { cookie: owner.cookie });
    expect(newHistory.body.items.map((i) => i.action)).not.toContain("USER_REMOVED");
    expect(newHistory.body.items.map((i) => i.action)).toContain("INVITATION_ACCEPTED");
  });

  it("sign-in with a removed member's email reaches only the current account", async () => {
    const h = new Harness();
    const t = await seedTenant("rehire");
    const admin = await h.signIn(t.admin);
    await remove(h, t.admin, admin.cookie, t.member);
    const back = await rejoin(h, admin.cookie, t.member.email);

    const oldPassword = await h.call("/api/auth/login", { body: { email: t.member.email, password: PASSWORD } });
    expect([oldPassword.status, (oldPassword.body as { error: string }).error]).toEqual([401, "INVALID_CREDENTIALS"]);
    const signedIn = await h.login(t.member.email, NEW_PASSWORD);
    expect(signedIn.userId).toBe(back.id);
    expect((await me(h, signedIn.cookie)).body.user.id).toBe(back.id);
    // The failed attempt was against the current account, never the tombstone.
    const failed = await auditRows(t.id, "LOGIN_FAILED");
    expect(failed.map((r) => [r.actorUserId, r.failureReason])).toEqual([[back.id, "INVALID_PASSWORD"]]);
  });
});

describe("email uniqueness", () => {
  /** What D1 answered to a write: "accepted", or the UNIQUE constraint it refused. */
  async function outcome(write: Promise<unknown>): Promise<string> {
    try {
      await write;
    } catch (err) {
      return failedWith(err, /UNIQUE constraint failed: users\.email/) ? "unique" : `other: ${String(err)}`;
    }
    return "accepted";
  }
  const row = (tenantId: string, email: string, removedAt: number | null = null) => ({
    id: randomId("usr_"),
    tenantId,
    email,
    displayName: "Row",
    role: "member" as const,
    passwordHash: "pbkdf2_sha256$1$AA$AA",
    createdAt: START_MS,
    removedAt,
  });

  it("two accounts that are not removed never share an email", async () => {
    const db = createDb(env.DB);
    const t = await seedTenant("uq");
    const other = await seedTenant("uq");
    // D1 itself refuses a second current account, in the same tenant or another.
    expect(await outcome(db.insert(users).values(row(t.id, t.member.email)))).toBe("unique");
    expect(await outcome(db.insert(users).values(row(other.id, t.member.email)))).toBe("unique");
    // Tombstones may share it (removed twice), and un-removing one while the email is taken is refused.
    const tombstone = row(t.id, t.member.email, START_MS);
    expect(await outcome(db.insert(users).values(tombstone))).toBe("accepted");
    expect(await outcome(db.insert(users).values(row(other.id, t.member.email, START_MS)))).toBe("accepted");
    expect(await outcome(env.DB.prepare("UPDATE users SET removed_at = NULL WHERE id = ?").bind(tombstone.id).run())).toBe("unique");

    // Through the API: the same email invited by two tenants gets one account; the second accept is refused.
    const h = new Harness();
    const [a, b] = [await h.signIn(t.admin), await h.signIn(other.admin)];
    const email = "twice-hired@example.test";
    const [first, second] = [await invite(h, a.cookie, email), await invite(h, b.cookie, email)];
    expect((await accept(h, tokenOf(first.body.link))).status).toBe(200);
    const refused = await accept(h, tokenOf(second.body.link));
    expect([refused.status, (refused.body as unknown as { error: string }).error]).toEqual([409, "INVITATION_USED"]);
    const current = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ? AND removed_at IS NULL").bind(email).first<{ n: number }>();
    expect(current?.n).toBe(1);
  });
});
