/**
 * The operator API (`/api/operator`, for scripts/gatehouse.mjs): create a tenant with an
 * invitation for its first owner, list tenants, disable a tenant, issue a password
 * reset link to a tenant's sole owner (the one person nobody else in the tenant can reset:
 * with another enabled owner, that owner does it from the Team page, so the operator does not),
 * move the audit rows D1 still holds into their tenants' objects (src/audit/migrate.ts), and
 * list and replay dead-lettered product webhooks (src/webhooks/routes.ts).
 *
 * Threat model: see ./auth.ts for the gate. No password ever passes through it: the first
 * owner sets theirs on the invitation page. Every change writes its row into the tenant's
 * own audit chain (which starts with TENANT_CREATED), with no actor: the operator is not a
 * user of any tenant. Disabling ends all the tenant's sessions at once (endTenantSessions),
 * and startSession refuses new ones. The audit migration changes no tenant: it moves events
 * that exist already to where the chain now lives, as the hourly cron and every audit read
 * do, so it writes no event of its own.
 */
import { asc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { failedWith } from "../db/errors";
import { type Tenant, invitations, tenants } from "../db/schema";
import { sendEmail } from "../email";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { randomId } from "../lib/crypto";
import { emailSchema } from "../lib/email";
import { displayNameSchema, idSchema } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { withPropagation } from "../propagation";
import { endTenantSessions } from "../sessions/revoke";
import { emailHasAccount, invitationLink, newInvitation } from "../users/invitation-service";
import { soleOwnerByEmail } from "./sole-owner";
import { issueResetLink } from "../users/reset-link";
import { type UnknownPathAnswer, requireOperator } from "./auth";
import { answers } from "../openapi/notes";
import { MIGRATE_MAX_TENANTS, migrateBody, migrateLegacyAudit } from "../audit/migrate";
import { verificationKeys } from "../audit/read";
import { webhookOperatorRoutes } from "../webhooks/routes";

const createTenantBody = z.strictObject({
  name: displayNameSchema,
  slug: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, "must be 1-40 lower-case letters, digits or inner hyphens"),
  ownerEmail: emailSchema,
});
const tenantIdParam = z.strictObject({ id: idSchema });
const ownerResetBody = z.strictObject({ email: emailSchema });
const emptyBody = z.strictObject({});

export function toTenantView(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    createdAt: new Date(t.createdAt).toISOString(),
    disabledAt: t.disabledAt === null ? null : new Date(t.disabledAt).toISOString(),
  };
}

/** Mounted at /api/operator, outside the edge check: the gate is the operator token; without it, the answer to an unknown path. */
export const operatorRoutes = (asUnknownPath: UnknownPathAnswer) => new Hono<AppEnv>()
  .use(requireOperator(asUnknownPath))
  .get("/tenants", async (c) => {
    const rows = await c.var.db
      .select({ tenant: tenants, members: sql<number>`(SELECT COUNT(*) FROM "users" AS u WHERE u."tenant_id" = "tenants"."id")` })
      .from(tenants)
      .orderBy(asc(tenants.createdAt))
      .limit(1000);
    return c.json({ tenants: rows.map((r) => ({ ...toTenantView(r.tenant), members: r.members })) });
  })
  .post("/tenants", audited("TENANT_CREATED", { targetType: "tenant" }), validate("json", createTenantBody), answers("SLUG_TAKEN", "USER_EXISTS"), async (c) => {
    const { name, slug, ownerEmail } = c.req.valid("json");
    const db = c.var.db;
    const now = c.get("now");
    if (await emailHasAccount(db, ownerEmail)) throw new ApiError(409, "USER_EXISTS", "This email already has a Gatehouse account");
    const tenant: Tenant = { id: randomId("ten_"), name, slug, createdAt: now, disabledAt: null, requireTwoFactor: false, requirePhishingResistant: "off" };
    const { row, token } = await newInvitation({ tenantId: tenant.id, email: ownerEmail, role: "owner", invitedBy: null, nowMs: now });
    const byOperator = { tenantId: tenant.id, actorUserId: null, metadata: { by: "operator" } };
    try {
      await commitWithAudit(
        c,
        [db.insert(tenants).values(tenant), db.insert(invitations).values(row)],
        [
          { ...byOperator, action: "TENANT_CREATED", outcome: "SUCCESS", targetType: "tenant", targetId: tenant.id, after: { name, slug } },
          { ...byOperator, action: "USER_INVITED", outcome: "SUCCESS", targetType: "invitation", targetId: row.id, after: { email: ownerEmail, role: "owner", expiresAt: new Date(row.expiresAt).toISOString() } },
        ],
      );
    } catch (err) {
      if (failedWith(err, /UNIQUE constraint failed: tenants\.slug/)) throw new ApiError(409, "SLUG_TAKEN", `The slug ${slug} is already used by another tenant`);
      throw err;
    }
    const link = invitationLink(c, token);
    const delivery = await sendEmail(c, { to: ownerEmail, template: "invitation", link, tenantId: tenant.id });
    return c.json({ tenant: toTenantView(tenant), invitationLink: link, emailed: delivery === "sent" }, 201);
  })
  .post("/tenants/:id/disable", audited("TENANT_DISABLED", { targetType: "tenant", targetParam: "id" }), validate("param", tenantIdParam), validate("json", emptyBody), answers("TENANT_NOT_FOUND", "TENANT_ALREADY_DISABLED"), async (c) => {
    const db = c.var.db;
    const now = c.get("now");
    const tenant = await db.query.tenants.findFirst({ where: eq(tenants.id, c.req.valid("param").id) });
    if (!tenant) throw new ApiError(404, "TENANT_NOT_FOUND", "Tenant not found");
    if (tenant.disabledAt !== null) {
      throw new ApiError(409, "TENANT_ALREADY_DISABLED", "This tenant is already disabled", { audit: { tenantId: tenant.id, actorUserId: null } });
    }
    const { endedIds, propagation } = await endTenantSessions(c, {
      tenantId: tenant.id,
      reason: "TENANT_DISABLED",
      changes: [db.update(tenants).set({ disabledAt: now }).where(eq(tenants.id, tenant.id))],
      event: (ids) => ({ actorUserId: null, action: "TENANT_DISABLED", outcome: "SUCCESS", targetType: "tenant", targetId: tenant.id, metadata: { by: "operator", endedSessions: ids.length } }),
    });
    return c.json({ tenant: toTenantView({ ...tenant, disabledAt: now }), endedSessions: endedIds.length, ...withPropagation(propagation) });
  })
  .post(
    "/tenants/:id/owner-reset",
    audited("PASSWORD_RESET_REQUESTED", { targetType: "user" }),
    validate("param", tenantIdParam),
    validate("json", ownerResetBody),
    answers("TENANT_NOT_FOUND", "USER_NOT_FOUND", "OWNER_NOT_SOLE", "USER_DISABLED"),
    async (c) => {
      const owner = await soleOwnerByEmail(c.var.db, c.req.valid("param").id, c.req.valid("json").email);
      return c.json({ user: { id: owner.id, email: owner.email }, ...(await issueResetLink(c, owner, { userId: null, via: "operator" })) });
    },
  )
  .post("/audit/migrate", validate("json", migrateBody), answers("AUDIT_KEY_UNAVAILABLE"), async (c) => {
    // Fail closed: a chain that cannot be verified is not moved.
    const keys = verificationKeys(c.env);
    const { limit = MIGRATE_MAX_TENANTS } = c.req.valid("json");
    return c.json(await migrateLegacyAudit(c.env, c.var.db, { limit, keys, nowMs: c.get("now") }));
  })
  .route("/webhooks", webhookOperatorRoutes);
