import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, d1WithTableGone, seedTenant, withEnv } from "./helpers";
import { eq } from "drizzle-orm";
import { createDb } from "../src/db/client";
import { users } from "../src/db/schema";
import { accept, invite, tokenOf } from "./invitation-fixtures";

type Preview = { state: string; organization?: string; email?: string; role?: string; invitedBy?: string | null; expiresAt?: string };

const preview = (h: Harness, token: string, options: { env?: ReturnType<typeof withEnv>; ip?: string } = {}) =>
  h.call<Preview>(`/api/auth/invitations/preview?token=${encodeURIComponent(token)}`, options);

describe("invitation preview: what the accept page shows when it opens", () => {
  it("an open invitation's link shows its organisation, invited email, role and inviter", async () => {
    const h = new Harness();
    const t = await seedTenant("preview");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "newcomer@example.test", "member")).body.link);
    const res = await preview(h, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ state: "pending", organization: "preview", email: "newcomer@example.test", role: "member", invitedBy: expect.any(String), expiresAt: expect.any(String) });
  });

  it("a used, revoked or expired link says only that, not whom it was for", async () => {
    const h = new Harness();
    const t = await seedTenant("preview");
    const admin = await h.session(t.admin);
    const used = tokenOf((await invite(h, admin.cookie, "used@example.test")).body.link);
    expect((await accept(h, used)).status).toBe(200);
    const revoked = await invite(h, admin.cookie, "revoked@example.test");
    await h.call(`/api/users/invitations/${revoked.body.invitation.id}/revoke`, { cookie: admin.cookie, body: {} });
    const expired = tokenOf((await invite(h, admin.cookie, "expired@example.test")).body.link);

    expect((await preview(h, used)).body).toEqual({ state: "accepted" });
    expect((await preview(h, tokenOf(revoked.body.link))).body).toEqual({ state: "revoked" });
    h.clock.advanceSeconds(8 * 24 * 60 * 60);
    expect((await preview(h, expired)).body).toEqual({ state: "expired" });
  });

  it("a link whose inviter can no longer grant the access reads as withdrawn", async () => {
    const h = new Harness();
    const t = await seedTenant("preview");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "orphan@example.test")).body.link);
    // Demoted by a change that did not revoke the link (one sent before a role change, say).
    await createDb(env.DB).update(users).set({ role: "member" }).where(eq(users.id, t.admin.id));
    expect((await preview(h, token)).body).toEqual({ state: "withdrawn" });
  });

  it("a guessed or altered token is 404 INVITATION_NOT_FOUND", async () => {
    const h = new Harness();
    const t = await seedTenant("preview");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "guess@example.test")).body.link);
    const altered = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    const res = await preview(h, altered);
    expect([res.status, res.body]).toEqual([404, expect.objectContaining({ error: "INVITATION_NOT_FOUND" })]);
  });

  it("every preview counts against the address's limit: past it, 429 TOO_MANY_ATTEMPTS", async () => {
    const h = new Harness();
    const limiter = { limit: async () => ({ success: false }) };
    const res = await preview(h, "inv_x.y", { env: withEnv({ LOGIN_ADDRESS_LIMITER: limiter as unknown as RateLimit }) });
    expect([res.status, res.body]).toEqual([429, expect.objectContaining({ error: "TOO_MANY_ATTEMPTS" })]);
  });

  it("an unreadable invitations table is 503, never a guess", async () => {
    const h = new Harness();
    const t = await seedTenant("preview");
    const admin = await h.session(t.admin);
    const token = tokenOf((await invite(h, admin.cookie, "down@example.test")).body.link);
    const res = await preview(h, token, { env: withEnv({ DB: d1WithTableGone(env.DB, "invitations") }) });
    expect(res.status).toBe(503);
  });
});
