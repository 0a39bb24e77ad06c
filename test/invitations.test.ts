import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { invitations, users } from "../src/db/schema";
import { sha256Hex } from "../src/lib/crypto";
import { Harness, cookieHeader, d1WithTableGone, kvRefusingWrites, seedTenant, withEnv } from "./helpers";
import { type AcceptBody, accept, auditRows, d1WithChangeBeforeBatch, invite, NEW_PASSWORD, removeMember, tokenOf } from "./invitation-fixtures";

afterEach(() => vi.restoreAllMocks());

describe("invitations", () => {
  it("an admin's invitation link signs the invitee in with the invited role", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const created = await invite(h, admin.cookie, "  New.Person@Example.TEST ", "admin");
    expect(created.status).toBe(201);
    expect(created.body.invitation).toMatchObject({ email: "new.person@example.test", role: "admin", status: "pending" });
    expect(created.body.link).toMatch(/^https:\/\/gatehouse\.test\/_gatehouse\/accept-invitation\?token=inv_/);
    expect(created.body.emailed).toBe(false);

    const accepted = await accept(h, tokenOf(created.body.link));
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ email: "new.person@example.test", role: "admin", tenantId: t.id });
    const me = await h.call<{ user: { id: string } }>("/api/me", { cookie: accepted.sessionCookie });
    expect(me.body.user.id).toBe(accepted.body.user.id);
    // The invitee can sign in again with the password they chose.
    expect((await h.login("new.person@example.test", NEW_PASSWORD)).userId).toBe(accepted.body.user.id);

    expect((await auditRows(t.id, "USER_INVITED")).map((r) => [r.outcome, r.actorUserId, r.targetId])).toEqual([["SUCCESS", t.admin.id, created.body.invitation.id]]);
    expect((await auditRows(t.id, "INVITATION_ACCEPTED")).map((r) => [r.outcome, r.actorUserId])).toEqual([["SUCCESS", accepted.body.user.id]]);
    const listed = await h.call<{ invitations: { id: string; status: string }[] }>("/api/users/invitations", { cookie: admin.cookie });
    expect(listed.body.invitations).toEqual([expect.objectContaining({ id: created.body.invitation.id, status: "accepted" })]);
  });

  it("an accepted invitation answers its success even when the session cache cannot be written: the account exists and its cookie works", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "cache.down@example.test")).body.link);
    const res = await h.call<AcceptBody>("/api/auth/invitations/accept", { body: { token, displayName: "Cache Down", password: NEW_PASSWORD }, env: withEnv({ SESSION_CACHE: kvRefusingWrites() }) });
    expect(res.status).toBe(200);
    const me = await h.call<{ user: { id: string } }>("/api/me", { cookie: cookieHeader(res.cookie ?? "") });
    expect([me.status, me.body.user.id]).toEqual([200, res.body.user.id]);
  });

  it("an invitation's token is stored only as its SHA-256 hash", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const created = await invite(h, admin.cookie, "hashed@example.test");
    const [, secret] = tokenOf(created.body.link).split(".") as [string, string];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    const row = await createDb(env.DB).query.invitations.findFirst({ where: eq(invitations.id, created.body.invitation.id) });
    expect(row?.tokenHash).toBe(await sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it("an invitation link works once, even when accepted twice in parallel", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "twice@example.test")).body.link);
    const results = await Promise.all([accept(h, token), accept(h, token), accept(h, token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(results.filter((r) => r.status === 409).map((r) => (r.body as unknown as { error: string }).error)).toEqual(["INVITATION_USED", "INVITATION_USED"]);
    expect(results.filter((r) => r.sessionCookie !== undefined)).toHaveLength(1);
    expect(await createDb(env.DB).select().from(users).where(eq(users.email, "twice@example.test"))).toHaveLength(1);
    const later = await accept(h, token);
    expect([later.status, (later.body as unknown as { error: string }).error]).toEqual([409, "INVITATION_USED"]);
  });

  it("an invitation expires after 7 days", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const created = await invite(h, admin.cookie, "late@example.test");
    expect(Date.parse(created.body.invitation.expiresAt) - h.clock.ms).toBe(7 * 24 * 3600 * 1000);
    h.clock.advanceSeconds(7 * 24 * 3600);
    const res = await accept(h, tokenOf(created.body.link));
    expect([res.status, (res.body as unknown as { error: string }).error]).toEqual([410, "INVITATION_EXPIRED"]);
    expect((await auditRows(t.id, "INVITATION_ACCEPTED")).map((r) => [r.outcome, r.failureReason])).toEqual([["FAIL", "INVITATION_EXPIRED"]]);
  });

  it("a revoked invitation cannot be accepted", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const created = await invite(h, admin.cookie, "revoked@example.test");
    const revoked = await h.call<{ invitation: { status: string } }>(`/api/users/invitations/${created.body.invitation.id}/revoke`, { cookie: admin.cookie, body: {} });
    expect([revoked.status, revoked.body.invitation.status]).toEqual([200, "revoked"]);
    const res = await accept(h, tokenOf(created.body.link));
    expect([res.status, (res.body as unknown as { error: string }).error]).toEqual([410, "INVITATION_REVOKED"]);
    expect((await auditRows(t.id, "INVITATION_REVOKED")).map((r) => r.outcome)).toEqual(["SUCCESS"]);
  });

  it("re-sending an invitation replaces its link: the old one stops working", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const created = await invite(h, admin.cookie, "resend@example.test");
    expect((await accept(h, tokenOf(created.body.link), "x")).status).toBe(400); // reachable before
    h.clock.advanceSeconds(8 * 24 * 3600); // expired: re-sending renews it
    const adminAgain = await h.session(t.admin);
    const resent = await h.call<{ link: string; invitation: { status: string } }>(`/api/users/invitations/${created.body.invitation.id}/resend`, { cookie: adminAgain.cookie, body: {} });
    expect([resent.status, resent.body.invitation.status]).toEqual([200, "pending"]);
    expect((await accept(h, tokenOf(created.body.link))).status).toBe(404);
    expect((await accept(h, tokenOf(resent.body.link))).status).toBe(200);
  });

  it("an unknown or tampered invitation token is 404 INVITATION_NOT_FOUND", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "tamper@example.test")).body.link);
    const tampered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    for (const bad of [tampered, "inv_nope.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "garbage"]) {
      const res = await accept(h, bad);
      expect([res.status, (res.body as unknown as { error: string }).error]).toEqual([404, "INVITATION_NOT_FOUND"]);
    }
  });

  it("a weak password is refused at accept with the reason, and the link still works", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "weak@example.test")).body.link);
    const weak = await accept(h, token, "short pass");
    expect([weak.status, weak.body]).toEqual([400, expect.objectContaining({ error: "WEAK_PASSWORD", reason: "TOO_SHORT" })]);
    const common = await accept(h, token, "passwordpassword");
    expect(common.body).toEqual(expect.objectContaining({ error: "WEAK_PASSWORD", reason: "COMMON" }));
    expect(weak.sessionCookie).toBeUndefined();
    expect((await accept(h, token)).status).toBe(200);
  });

  it("a display name with control or format characters is refused at accept (400, no account), and the link still works", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "named@example.test")).body.link);
    for (const displayName of ["Eve\u202Etxt.exe", "Eve\u0007", "E\u200Bve", "E\u2028ve", "Eve\uD800", "   "]) {
      const res = await accept(h, token, NEW_PASSWORD, displayName);
      expect([JSON.stringify(displayName), res.status, (res.body as unknown as { error: string }).error]).toEqual([JSON.stringify(displayName), 400, "VALIDATION_FAILED"]);
    }
    expect(await createDb(env.DB).select().from(users).where(eq(users.email, "named@example.test"))).toHaveLength(0);
    const ok = await accept(h, token, NEW_PASSWORD, "  Zoë Ødegård 😀 ");
    expect(ok.status).toBe(200);
    const me = await h.call<{ user: { displayName: string } }>("/api/me", { cookie: ok.sessionCookie });
    expect(me.body.user.displayName).toBe("Zoë Ødegård 😀");
  });

  it("a member removed after accepting cannot use the accepted link again to make a new account", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "leaver@example.test")).body.link);
    const first = await accept(h, token);
    expect(first.status).toBe(200);
    expect((await removeMember(h, t.admin, admin.cookie, first.body.user.id)).status).toBe(200);
    // The email is free again (a removed member's tombstone keeps it), so only the invitation's own guards stand.
    const again = await accept(h, token, `${NEW_PASSWORD} again`);
    expect([again.status, (again.body as unknown as { error: string }).error, again.sessionCookie]).toEqual([409, "INVITATION_USED", undefined]);
    const accounts = await createDb(env.DB).select().from(users).where(eq(users.email, "leaver@example.test"));
    expect(accounts.map((u) => [u.id, u.removedAt === null])).toEqual([[first.body.user.id, false]]);
  });

  it("an accepted link replayed while its first account is being removed is refused by the accept's own batch", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "replay@example.test")).body.link);
    // The replay read the invitation while it was open; before its batch, the first accept commits and that account is removed.
    const racing = d1WithChangeBeforeBatch(env.DB, /update "invitations" set "accepted_at"/i, async () => {
      const first = await accept(h, token);
      expect(first.status).toBe(200);
      expect((await removeMember(h, t.admin, admin.cookie, first.body.user.id)).status).toBe(200);
    });
    const replay = await h.call("/api/auth/invitations/accept", { env: withEnv({ DB: racing }), body: { token, displayName: "Replay", password: NEW_PASSWORD } });
    expect([replay.status, replay.body.error, replay.cookie]).toEqual([409, "INVITATION_USED", undefined]);
    expect((await createDb(env.DB).select().from(users).where(eq(users.email, "replay@example.test"))).filter((u) => u.removedAt === null)).toHaveLength(0);
  });

  it("nobody invites to a role above their own", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const res = await invite(h, admin.cookie, "boss@example.test", "owner");
    expect([res.status, (res.body as unknown as { error: string }).error]).toEqual([403, "FORBIDDEN"]);
    expect((await auditRows(t.id, "USER_INVITED")).map((r) => [r.outcome, r.targetType])).toEqual([["FAIL", "invitation"]]);
    const member = await h.login(t.member.email);
    expect((await invite(h, member.cookie, "friend@example.test", "member")).status).toBe(403);
    const owner = await h.session(t.owner);
    expect((await invite(h, owner.cookie, "boss@example.test", "owner")).status).toBe(201);
  });

  it("an admin cannot revoke or re-send an invitation to a role above their own", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const owner = await h.session(t.owner);
    const created = await invite(h, owner.cookie, "coowner@example.test", "owner");
    const admin = await h.session(t.admin);
    for (const action of ["revoke", "resend"]) {
      const res = await h.call(`/api/users/invitations/${created.body.invitation.id}/${action}`, { cookie: admin.cookie, body: {} });
      expect([action, res.status]).toEqual([action, 403]);
    }
    expect((await auditRows(t.id, "INVITATION_REVOKED")).map((r) => [r.outcome, r.failureReason, r.targetId])).toEqual([["FAIL", "FORBIDDEN", created.body.invitation.id]]);
  });

  it("another tenant's invitation is 404, and is not listed", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const other = await seedTenant("other");
    const otherAdmin = await h.session(other.admin);
    const theirs = await invite(h, otherAdmin.cookie, "theirs@example.test");
    const admin = await h.session(t.admin);
    for (const action of ["revoke", "resend"]) {
      const res = await h.call(`/api/users/invitations/${theirs.body.invitation.id}/${action}`, { cookie: admin.cookie, body: {} });
      expect([action, res.status, res.body.error]).toEqual([action, 404, "INVITATION_NOT_FOUND"]);
    }
    const listed = await h.call<{ invitations: unknown[] }>("/api/users/invitations", { cookie: admin.cookie });
    expect(listed.body.invitations).toEqual([]);
  });

  it("an email that has an account, or an open invitation, cannot be invited again", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    expect(((await invite(h, admin.cookie, t.member.email.toUpperCase())).body as unknown as { error: string }).error).toBe("USER_EXISTS");
    expect((await invite(h, admin.cookie, "once@example.test")).status).toBe(201);
    const again = await invite(h, admin.cookie, "Once@Example.test");
    expect([again.status, (again.body as unknown as { error: string }).error]).toEqual([409, "INVITATION_PENDING"]);
  });

  it("with the email hook configured, the invitation link is also sent to the invitee", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const posted: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      posted.push(String(init?.body));
      return new Response(null, { status: 204 });
    });
    const hooked = withEnv({ EMAIL_WEBHOOK_URL: "https://product.example/email", EMAIL_WEBHOOK_SECRET: "x".repeat(40) });
    const admin = await h.session(t.admin, { env: hooked });
    const created = await h.call<{ link: string; emailed: boolean }>("/api/users/invitations", { cookie: admin.cookie, env: hooked, body: { email: "mailed@example.test", role: "member" } });
    expect(created.body.emailed).toBe(true);
    expect(posted.map((b) => JSON.parse(b))).toEqual([expect.objectContaining({ to: "mailed@example.test", template: "invitation", link: created.body.link })]);
  });

  it("accepting fails closed: an unreadable invitations table is 503 AUTH_UNAVAILABLE, and no account is made", async () => {
    const h = new Harness();
    const t = await seedTenant("inv");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "closed@example.test")).body.link);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await h.call("/api/auth/invitations/accept", { env: withEnv({ DB: d1WithTableGone(env.DB, "invitations") }), body: { token, displayName: "X", password: NEW_PASSWORD } });
    expect([res.status, res.body.error, res.cookie]).toEqual([503, "AUTH_UNAVAILABLE", undefined]);
    expect(await createDb(env.DB).select().from(users).where(eq(users.email, "closed@example.test"))).toHaveLength(0);
  });
});
