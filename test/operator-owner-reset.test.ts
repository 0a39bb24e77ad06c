import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { users } from "../src/db/schema";
import { type CallOptions, Harness, PASSWORD, seedTenant, withEnv } from "./helpers";
import { auditRows } from "./invitation-fixtures";

const TOKEN = "operator-token-for-tests-0123456789abcdef";
const asOperator: CallOptions = { env: withEnv({ OPERATOR_TOKEN: TOKEN }), headers: { authorization: `Bearer ${TOKEN}` } };

type ResetAnswer = { user: { id: string }; link: string; revoked: number; error?: string };
const ownerReset = (h: Harness, tenantId: string, email: string) => h.call<ResetAnswer>(`/api/operator/tenants/${tenantId}/owner-reset`, { ...asOperator, body: { email } });

/** Leaves `t.owner` the tenant's only owner: the seeded admin is an admin already. */
async function soleOwnerTenant() {
  const t = await seedTenant("sole", { totp: false });
  return t;
}

describe("operator: a password reset link for a tenant's sole owner", () => {
  it("the operator issues a sole owner a reset link: their sessions end and PASSWORD_RESET_REQUESTED is audited with no actor, via operator", async () => {
    const h = new Harness();
    const t = await soleOwnerTenant();
    const owner = await h.session(t.owner);
    const res = await ownerReset(h, t.id, t.owner.email);
    expect(res.status).toBe(200);
    expect(res.body.link).toMatch(/^https:\/\/gatehouse\.test\/_gatehouse\/reset-password\?token=pwr_/);
    expect(res.body.revoked).toBe(1);
    expect((await h.call("/api/me", { cookie: owner.cookie })).status).toBe(401);
    const rows = await auditRows(t.id, "PASSWORD_RESET_REQUESTED");
    expect(rows.map((r) => [r.outcome, r.actorUserId, r.targetId])).toEqual([["SUCCESS", null, t.owner.id]]);
    expect(rows[0]?.metadata).toMatchObject({ via: "operator" });
    // The link sets a new password.
    const token = new URL(res.body.link).searchParams.get("token") ?? "";
    expect((await h.call("/api/auth/password-reset", { body: { token, password: "violet harbour lanterns at dusk" } })).status).toBe(200);
    expect((await h.login(t.owner.email, "violet harbour lanterns at dusk")).userId).toBe(t.owner.id);
  });

  it("the operator does not reset an owner who has another enabled owner beside them: 409 OWNER_NOT_SOLE, audited as FAIL, nothing changed", async () => {
    const h = new Harness();
    const t = await soleOwnerTenant();
    await createDb(env.DB).update(users).set({ role: "owner" }).where(eq(users.id, t.admin.id));
    const res = await ownerReset(h, t.id, t.owner.email);
    expect([res.status, res.body.error]).toEqual([409, "OWNER_NOT_SOLE"]);
    expect((await auditRows(t.id, "PASSWORD_RESET_REQUESTED")).map((r) => [r.outcome, r.failureReason])).toEqual([["FAIL", "OWNER_NOT_SOLE"]]);
    expect((await h.login(t.owner.email, PASSWORD)).userId).toBe(t.owner.id);
  });

  it("the operator resets only an owner: a member, another tenant's owner or an unknown email is 404 USER_NOT_FOUND", async () => {
    const h = new Harness();
    const t = await soleOwnerTenant();
    const other = await seedTenant("other", { totp: false });
    for (const email of [t.member.email, t.admin.email, other.owner.email, "nobody@example.test"]) {
      const res = await ownerReset(h, t.id, email);
      expect([email, res.status, res.body.error]).toEqual([email, 404, "USER_NOT_FOUND"]);
    }
  });
});
