// An admin's snapshot taken while impersonating: a change to the user they act as must reach
// the admin's next request, though the snapshot is fresh. Every change that bears on what
// the admin may do as that user (disabling, removing, a role or permission change) ends the
// impersonation in the change's own batch (src/impersonation/access-change.ts), so it is the
// admin's own session whose fingerprint the tenant's edge document changes.
import { describe, expect, it } from "vitest";
import { Harness, type SeededUser, seedTenant } from "./helpers";
import { type Jar, SNAPSHOT, browserSignIn } from "./snapshot-fixtures";

type Me = { user: { id: string; role: string }; impersonation?: unknown };

/** `actor` signs in as a browser and impersonates `target`; the jar then holds the snapshot issued while impersonating. */
async function impersonatingBrowser(h: Harness, actor: SeededUser, target: SeededUser): Promise<Jar> {
  const { jar } = await browserSignIn(h, actor);
  await h.stepUp(jar.header, "IMPERSONATION", actor);
  expect((await h.call(`/api/impersonate/${target.id}`, { cookie: jar.header, body: { reason: "Ticket 7: invoices" } })).status).toBe(200);
  const during = await h.call<Me>("/api/me", { cookie: jar.header });
  expect(during.body.user.id).toBe(target.id);
  const before = jar.cookies.get(SNAPSHOT);
  jar.take(during);
  expect(jar.cookies.get(SNAPSHOT)).not.toBe(before); // re-issued while impersonating
  return jar;
}

/** The jar's next request acts as its own user again (with their own role): the impersonation is over. */
async function actsAsThemselves(h: Harness, jar: Jar, user: SeededUser) {
  const me = await h.call<Me>("/api/me", { cookie: jar.header });
  expect(me.body.user).toMatchObject({ id: user.id, role: user.role });
  expect(me.body.impersonation).toBeUndefined();
}

describe("session snapshots while impersonating", () => {
  it("a member disabled while an admin impersonates them: the admin's next request acts as the admin, though the admin's snapshot is fresh", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const admin = await impersonatingBrowser(h, t.admin, t.member);
    const owner = await h.session(t.owner);
    await h.stepUp(owner.cookie, "USER_ACCESS_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.member.id}/disable`, { cookie: owner.cookie, body: {} })).status).toBe(200);
    await actsAsThemselves(h, admin, t.admin);
  });

  it("an admin demoted while the owner impersonates them: the owner's next request no longer acts as an admin, though the owner's snapshot is fresh", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const impersonating = await impersonatingBrowser(h, t.owner, t.admin);
    h.clock.advanceSeconds(30); // a fresh TOTP step for the owner's second sign-in
    const owner = await h.session(t.owner); // the owner's other session, acting as themselves
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    expect((await h.call(`/api/users/${t.admin.id}/role`, { cookie: owner.cookie, method: "PATCH", body: { role: "member" } })).status).toBe(200);
    await actsAsThemselves(h, impersonating, t.owner);
  });
});
