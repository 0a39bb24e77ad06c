/**
 * /api/tenant/scim-token: the tenant's SCIM token, the owners' to create and delete; those
 * who see the tenant's security settings (SETTINGS_SECURITY_VIEW) see that it exists.
 * Creating one (which replaces the old in the same batch) and deleting it (SCIM off) read
 * audited → validate → forbidWhileImpersonating → requireRole(owner) → requireStepUp(SSO_CHANGE).
 * The token is answered once, at creation; only its SHA-256 is kept (./token.ts), and
 * reading it answers when it was made, by whom, its last use, and whether it still works.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import type { Db } from "../db/client";
import { scimTokens, users } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requirePermission, requireRole } from "../lib/authorize";
import { randomId } from "../lib/crypto";
import { emptyBody } from "../lib/schemas";
import { validate } from "../lib/validation";
import { requireStepUp } from "../stepup/middleware";
import { scimBaseUrl } from "./protocol";
import { SCIM_TOKEN_GRANTOR, creatorStillGrants, newScimToken } from "./token";
import { answers } from "../openapi/notes";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The tenant's token as the panel shows it (never the token itself), or null. */
async function tokenView(db: Db, tenantId: string) {
  const [row] = await db
    .select({ token: scimTokens, creator: users })
    .from(scimTokens)
    .leftJoin(users, eq(users.id, scimTokens.createdBy))
    .where(eq(scimTokens.tenantId, tenantId))
    .limit(1);
  if (!row) return null;
  const { token, creator } = row;
  return {
    id: token.id,
    createdAt: iso(token.createdAt),
    lastUsedAt: iso(token.lastUsedAt),
    // The creator's email (null: not found); their id is in the SCIM_TOKEN_CREATED row.
    createdBy: creator?.email ?? null,
    // False once its creator is no longer an enabled owner: SCIM calls with it are refused.
    active: creator?.tenantId === tenantId && creatorStillGrants(creator),
  };
}

/** Mounted at /api/tenant/scim-token, behind the edge check. */
export const scimTokenRoutes = new Hono<AppEnv>()
  .get("/", requirePermission("SETTINGS_SECURITY_VIEW"), async (c) => {
    return c.json({ token: await tokenView(c.var.db, c.get("user").tenantId), baseUrl: scimBaseUrl(c.env) });
  })
  .post(
    "/",
    audited("SCIM_TOKEN_CREATED", { targetType: "scim_token" }),
    validate("json", emptyBody),
    forbidWhileImpersonating("Creating a SCIM token"),
    requireRole(SCIM_TOKEN_GRANTOR),
    requireStepUp("SSO_CHANGE"),
    async (c) => {
      const me = c.get("user");
      const db = c.var.db;
      const previous = await db.query.scimTokens.findFirst({ where: eq(scimTokens.tenantId, me.tenantId) });
      const { token, tokenHash } = await newScimToken();
      const id = randomId("stk_");
      const now = c.get("now");
      await commitWithAudit(
        c,
        [
          // The old token goes in the batch that makes the new one: never two, never none by accident.
          db.delete(scimTokens).where(eq(scimTokens.tenantId, me.tenantId)),
          db.insert(scimTokens).values({ id, tenantId: me.tenantId, tokenHash, createdBy: me.id, createdAt: now, lastUsedAt: null }),
        ],
        { action: "SCIM_TOKEN_CREATED", outcome: "SUCCESS", targetType: "scim_token", targetId: id, metadata: previous ? { replaced: previous.id } : {} },
      );
      return c.json({ token, baseUrl: scimBaseUrl(c.env) }, 201);
    },
  )
  .delete(
    "/",
    audited("SCIM_TOKEN_DELETED", { targetType: "scim_token" }),
    forbidWhileImpersonating("Deleting the SCIM token"),
    requireRole(SCIM_TOKEN_GRANTOR),
    requireStepUp("SSO_CHANGE"),
    answers("SCIM_TOKEN_NOT_FOUND"),
    async (c) => {
      const tenantId = c.get("user").tenantId;
      const db = c.var.db;
      const current = await db.query.scimTokens.findFirst({ where: eq(scimTokens.tenantId, tenantId) });
      if (!current) throw notFound("SCIM token", "SCIM_TOKEN_NOT_FOUND");
      await commitWithAudit(c, [db.delete(scimTokens).where(eq(scimTokens.id, current.id))], {
        action: "SCIM_TOKEN_DELETED",
        outcome: "SUCCESS",
        targetType: "scim_token",
        targetId: current.id,
        before: { createdBy: current.createdBy, createdAt: iso(current.createdAt), lastUsedAt: iso(current.lastUsedAt) },
      });
      return c.json({ success: true });
    },
  );
