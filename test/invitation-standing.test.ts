import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { users } from "../src/db/schema";
import { Harness, type SeededUser, d1WithTableGone, seedTenant, withEnv } from "./helpers";
import { NEW_PASSWORD, accept, auditRows, d1WithChangeBeforeBatch, invite, removeMember, tokenOf } from "./invitation-fixtures";

afterEach(() => vi.restoreAllMocks());

type Listed = { invitations: { id: string; status: string }[] };

const statusOf = async (h: Harness, cookie: string, id: string) =>
  (await h.call<Listed>("/api/users/invitations", { cookie })).body.invitations.find((i) => i.id === id)?.status;

const errorOf = (res: { status: number; body: unknown }) => [res.status, (res.body as { error?: string }).error];

/** A role or permission change by `actor` (stepped up for it). */
async function change(h: Harness, actor: SeededUser, cookie: string, userId: string, what: { role: string } | { grant?: string[]; revoke?: string[] }) {
  await h.stepUp(cookie, "ROLE_CHANGE", actor);
  const path = "role" in what ? `/api/users/${userId}/role` : `/api/users/${userId}/permissions`;
  return h.call(path, { cookie, method: "PATCH", body: what });
}

/** A tenant whose admin has invited `email` as an admin, and its owner signed in: the start of every change to an inviter here. */
async function adminInvited(email: string) {
  const h = new Harness();
  const t = await seedTenant("stand");
  const admin = await h.session(t.admin);
  const created = await invite(h, admin.cookie, email, "admin");
  const owner = await h.session(t.owner);
  return { h, t, admin, created, owner };
}

const accountsOf = (email: string) => createDb(env.DB).select().from(users).where(eq(users.email, email));

describe("an invitation stands only while its inviter could still send it", () => {
  it("removing or disabling an admin revokes every open invitation they sent, each with its INVITATION_REVOKED row", async () => {
    for (const [what, cause] of [
      ["remove", "USER_REMOVED"],
      ["disable", "USER_DISABLED"],
    ] as const) {
      const { h, t, created, owner } = await adminInvited(`mine-${what}@example.test`);
      const res =
        what === "remove"
          ? await removeMember(h, t.owner, owner.cookie, t.admin.id)
          : await (async () => {
              await h.stepUp(owner.cookie, "USER_ACCESS_CHANGE", t.owner);
              return h.call(`/api/users/${t.admin.id}/disable`, { cookie: owner.cookie, body: {} });
            })();
      expect([what, res.status]).toEqual([what, 200]);
      expect(await statusOf(h, owner.cookie, created.body.invitation.id)).toBe("revoked");
      const rows = await auditRows(t.id, "INVITATION_REVOKED");
      expect(rows.map((r) => [r.outcome, r.actorUserId, r.targetId, r.metadata])).toEqual([["SUCCESS", t.owner.id, created.body.invitation.id, { reason: "INVITER_CANNOT_SEND", cause }]]);
      expect(errorOf(await accept(h, tokenOf(created.body.link)))).toEqual([410, "INVITATION_REVOKED"]);
      expect(await accountsOf(`mine-${what}@example.test`)).toHaveLength(0);
    }
  });

  it("demoting an inviter revokes the invitations their new role could not send, and only those", async () => {
    const h = new Harness();
    const t = await seedTenant("stand");
    const owner = await h.session(t.owner);
    expect((await change(h, t.owner, owner.cookie, t.admin.id, { role: "owner" })).status).toBe(200);
    const coOwner = await h.session(t.admin);
    const toOwner = await invite(h, coOwner.cookie, "to-owner@example.test", "owner");
    const toAdmin = await invite(h, coOwner.cookie, "to-admin@example.test", "admin");
    const toMember = await invite(h, coOwner.cookie, "to-member@example.test", "member");

    expect((await change(h, t.owner, owner.cookie, t.admin.id, { role: "admin" })).status).toBe(200);
    const statuses = async () => Promise.all([toOwner, toAdmin, toMember].map((i) => statusOf(h, owner.cookie, i.body.invitation.id)));
    expect(await statuses()).toEqual(["revoked", "pending", "pending"]);
    expect((await auditRows(t.id, "INVITATION_REVOKED")).map((r) => [r.targetId, r.metadata])).toEqual([[toOwner.body.invitation.id, { reason: "INVITER_CANNOT_SEND", cause: "USER_ROLE_UPDATED" }]]);

    // A member may send no invitation at all.
    expect((await change(h, t.owner, owner.cookie, t.admin.id, { role: "member" })).status).toBe(200);
    expect(await statuses()).toEqual(["revoked", "revoked", "revoked"]);
  });

  it("taking the permission to invite away from a member revokes the invitations they sent", async () => {
    const h = new Harness();
    const t = await seedTenant("stand");
    const owner = await h.session(t.owner);
    expect((await change(h, t.owner, owner.cookie, t.member.id, { grant: ["SETTINGS_SECURITY_EDIT"] })).status).toBe(200);
    const member = await h.login(t.member.email);
    const created = await invite(h, member.cookie, "friend@example.test", "member");
    expect(created.status).toBe(201);
    expect((await change(h, t.owner, owner.cookie, t.member.id, { revoke: ["SETTINGS_SECURITY_EDIT"] })).status).toBe(200);
    expect(await statusOf(h, owner.cookie, created.body.invitation.id)).toBe("revoked");
    expect(errorOf(await accept(h, tokenOf(created.body.link)))).toEqual([410, "INVITATION_REVOKED"]);
  });

  it("accepting refuses an invitation whose inviter can no longer grant its role, even when nothing revoked it", async () => {
    const h = new Harness();
    const t = await seedTenant("stand");
    const admin = await h.session(t.admin);
    const db = createDb(env.DB);
    // The inviter's standing changed behind the routes' back (as before this rule, or by a restore): the invitation still looks pending.
    const losses = [{ role: "member" as const }, { disabledAt: h.clock.ms }, { removedAt: h.clock.ms }, { permissionOverrides: { granted: [], revoked: ["SETTINGS_SECURITY_EDIT" as const] } }];
    for (const [i, loss] of losses.entries()) {
      const created = await invite(h, admin.cookie, `pending-${i}@example.test`, "admin");
      await db.update(users).set(loss).where(eq(users.id, t.admin.id));
      const res = await accept(h, tokenOf(created.body.link));
      expect([JSON.stringify(loss), ...errorOf(res)]).toEqual([JSON.stringify(loss), 410, "INVITATION_REVOKED"]);
      expect(await accountsOf(`pending-${i}@example.test`)).toHaveLength(0);
      // Once the inviter could send it again, the same link works: nothing was revoked.
      await db.update(users).set({ role: "admin", disabledAt: null, removedAt: null, permissionOverrides: null }).where(eq(users.id, t.admin.id));
      expect((await accept(h, tokenOf(created.body.link))).status).toBe(200);
    }
    const refused = (await auditRows(t.id, "INVITATION_ACCEPTED")).filter((r) => r.outcome === "FAIL");
    expect(refused.map((r) => r.failureReason)).toEqual(Array(losses.length).fill("INVITER_CANNOT_GRANT"));
  });

  it("an invitation sent while its sender is being removed is revoked with the removal, and the removal goes through", async () => {
    const { h, t, admin, created: before, owner } = await adminInvited("before@example.test");
    // The admin sends another invitation after the removal started, before its batch.
    let during = before;
    const racing = d1WithChangeBeforeBatch(env.DB, /update "invitations" set "revoked_at"/i, async () => {
      during = await invite(h, admin.cookie, "during@example.test", "admin");
      expect(during.status).toBe(201);
    });
    const res = await removeMember(h, t.owner, owner.cookie, t.admin.id, { env: withEnv({ DB: racing }) });
    expect(res.status).toBe(200);
    expect((await createDb(env.DB).query.users.findFirst({ where: eq(users.id, t.admin.id) }))?.removedAt).not.toBeNull();
    const ids = [before.body.invitation.id, during.body.invitation.id];
    expect(await Promise.all(ids.map((id) => statusOf(h, owner.cookie, id)))).toEqual(["revoked", "revoked"]);
    const rows = await auditRows(t.id, "INVITATION_REVOKED");
    expect(rows.map((r) => [r.targetId, r.before, r.metadata]).sort()).toEqual(
      [
        [before.body.invitation.id, { email: "before@example.test", role: "admin", invitedBy: t.admin.id }, { reason: "INVITER_CANNOT_SEND", cause: "USER_REMOVED" }],
        [during.body.invitation.id, { email: "during@example.test", role: "admin", invitedBy: t.admin.id }, { reason: "INVITER_CANNOT_SEND", cause: "USER_REMOVED" }],
      ].sort(),
    );
    expect(errorOf(await accept(h, tokenOf(during.body.link)))).toEqual([410, "INVITATION_REVOKED"]);
    // The rows written in the batch take their place in the chain.
    expect((await h.call<{ ok: boolean }>("/api/audit-logs/verify", { cookie: owner.cookie })).body.ok).toBe(true);
  });

  it("a removal racing the accept of an invitation the member sent goes through, and revokes and records only what was still open", async () => {
    const { h, t, created, owner } = await adminInvited("racer@example.test");
    // The accept commits after the removal started, before its batch: the inviter still stood.
    const racing = d1WithChangeBeforeBatch(env.DB, /update "invitations" set "revoked_at"/i, async () => {
      expect((await accept(h, tokenOf(created.body.link))).status).toBe(200);
    });
    const res = await removeMember(h, t.owner, owner.cookie, t.admin.id, { env: withEnv({ DB: racing }) });
    expect(res.status).toBe(200);
    expect((await createDb(env.DB).query.users.findFirst({ where: eq(users.id, t.admin.id) }))?.removedAt).not.toBeNull();
    expect(await statusOf(h, owner.cookie, created.body.invitation.id)).toBe("accepted");
    expect(await auditRows(t.id, "INVITATION_REVOKED")).toHaveLength(0);
  });

  it("an accept that passed its inviter check before the inviter's removal committed makes no account", async () => {
    const { h, t, created, owner } = await adminInvited("late@example.test");
    // The removal commits after the accept checked the inviter, before the accept's batch.
    const racing = d1WithChangeBeforeBatch(env.DB, /update "invitations" set "accepted_at"/i, async () => {
      expect((await removeMember(h, t.owner, owner.cookie, t.admin.id)).status).toBe(200);
    });
    const res = await h.call("/api/auth/invitations/accept", { body: { token: tokenOf(created.body.link), displayName: "Late", password: NEW_PASSWORD }, env: withEnv({ DB: racing }) });
    expect(errorOf(res)).toEqual([410, "INVITATION_REVOKED"]);
    expect(await accountsOf("late@example.test")).toHaveLength(0);
    expect(await statusOf(h, owner.cookie, created.body.invitation.id)).toBe("revoked");
  });

  it("accepting fails closed: an inviter that cannot be read is 503 AUTH_UNAVAILABLE, and no account is made", async () => {
    const { h, created } = await adminInvited("unread@example.test");
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await h.call("/api/auth/invitations/accept", { body: { token: tokenOf(created.body.link), displayName: "Unread", password: NEW_PASSWORD }, env: withEnv({ DB: d1WithTableGone(env.DB, "users") }) });
    expect([...errorOf(res), res.cookie]).toEqual([503, "AUTH_UNAVAILABLE", undefined]);
    expect(await accountsOf("unread@example.test")).toHaveLength(0);
  });
});
