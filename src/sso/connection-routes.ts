/**
 * /api/tenant/sso: the tenant's single sign-on connection (one per tenant). Reading it needs
 * SETTINGS_SECURITY_VIEW (admins see what binds them); saving and deleting it are the
 * owners' alone, with step-up SSO_CHANGE, never while impersonating.
 *
 * Threat model: a connection decides who may sign in to the tenant, so a change is
 * validated whole before anything is written (the provider's discovery document fetched
 * and checked, src/sso/provider.ts), commits with its audit row in one batch, and names no
 * secret anywhere but the sealed column. A domain belongs to at most one tenant (the
 * sso_domains primary key; a domain another tenant holds is 409 SSO_DOMAIN_TAKEN), so one
 * tenant's provider can never sign anyone in to another. When the provider or client
 * changes, the identities linked through the old one are unlinked in the same batch: a
 * `sub` is only unique at the provider (and client) that issued it.
 */
import { and, eq, inArray, ne } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { commitWithAudit } from "../audit/service";
import { failedWith } from "../db/errors";
import { type SsoConnection, ssoConnections, ssoDomains, ssoFlows, ssoIdentities, userSessions } from "../db/schema";
import { rewriteEdgeAfterRuleOrPolicyChange } from "../edge-document/rules-and-policy";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requirePermission, requireRole } from "../lib/authorize";
import { randomId } from "../lib/crypto";
import { type Infer } from "../lib/zod";
import { validate, validationFailed } from "../lib/validation";
import { withPropagation } from "../propagation";
import { requireStepUp } from "../stepup/middleware";
import { sealSecret } from "../stepup/secret-box";
import { discoverProvider } from "./provider";
import { connectionBody } from "./schemas";
import { type Connection, auditedConnection, loadConnection, toConnectionView } from "./store";
import { answers } from "../openapi/notes";

type ConnectionBody = Infer<typeof connectionBody>;

const domainTaken = (domains: readonly string[]) =>
  new ApiError(409, "SSO_DOMAIN_TAKEN", `Another organisation's single sign-on already holds ${domains.join(", ")}`, { details: { domains } });

/** 409 SSO_DOMAIN_TAKEN when another tenant holds any of `domains`. */
async function assertDomainsFree(c: Context<AppEnv>, tenantId: string, domains: readonly string[]): Promise<void> {
  const held = await c.var.db
    .select({ domain: ssoDomains.domain })
    .from(ssoDomains)
    .where(and(inArray(ssoDomains.domain, [...domains]), ne(ssoDomains.tenantId, tenantId)));
  if (held.length > 0) throw domainTaken(held.map((h) => h.domain).sort());
}

/** The client secret to seal: the one sent, or (no secret sent) the one the connection has; a new connection needs one. */
function secretToKeep(body: ConnectionBody, before: Connection | null): string | null {
  if (body.clientSecret !== undefined) return body.clientSecret;
  if (before) return null;
  throw validationFailed("json", [{ path: ["clientSecret"], message: "is required for a new connection" }]);
}

/**
 * The sessions a connection's provider started, no longer its: a back-channel logout of
 * another provider (or of the same one after the connection is gone) must not reach them
 * through a `sub` or `sid` that happens to be equal. They stay signed in.
 */
const unmarkSessions = (c: Context<AppEnv>, connectionId: string) =>
  c.var.db.update(userSessions).set({ ssoConnectionId: null, ssoSubject: null, ssoSid: null }).where(eq(userSessions.ssoConnectionId, connectionId));

/** The statements that save the connection: its row, its domains (replaced whole), and the unlinking of identities and sessions a changed provider or client leaves behind. */
function saveStatements(c: Context<AppEnv>, row: SsoConnection, before: Connection | null, domains: readonly string[]): BatchItem<"sqlite">[] {
  const db = c.var.db;
  const providerChanged = before !== null && (before.issuer !== row.issuer || before.clientId !== row.clientId);
  return [
    before ? db.update(ssoConnections).set(row).where(eq(ssoConnections.id, row.id)) : db.insert(ssoConnections).values(row),
    // A sign-in started at the old provider must not redeem its code at the new one.
    ...(providerChanged ? [db.delete(ssoIdentities).where(eq(ssoIdentities.connectionId, row.id)), unmarkSessions(c, row.id), db.delete(ssoFlows).where(eq(ssoFlows.connectionId, row.id))] : []),
    db.delete(ssoDomains).where(eq(ssoDomains.connectionId, row.id)),
    // A domain another tenant took since the check fails the whole batch (the primary key).
    db.insert(ssoDomains).values(domains.map((domain) => ({ domain, tenantId: row.tenantId, connectionId: row.id }))),
  ];
}

/** Mounted at /api/tenant, behind the edge check. */
export const ssoConnectionRoutes = new Hono<AppEnv>()
  .get("/sso", requirePermission("SETTINGS_SECURITY_VIEW"), async (c) => {
    const connection = await loadConnection(c.var.db, c.get("user").tenantId);
    return c.json({ connection: connection ? toConnectionView(c.env, connection) : null });
  })
  .put(
    "/sso",
    audited("SSO_CONNECTION_SAVED", { targetType: "sso_connection" }),
    validate("json", connectionBody),
    forbidWhileImpersonating("Changing single sign-on"),
    requireRole("owner"),
    requireStepUp("SSO_CHANGE"),
    answers("SSO_PROVIDER_INVALID", "SSO_PROVIDER_UNREACHABLE", "SSO_DOMAIN_TAKEN"),
    async (c) => {
      const tenantId = c.get("user").tenantId;
      const body = c.req.valid("json");
      const before = await loadConnection(c.var.db, tenantId);
      const secret = secretToKeep(body, before);
      await assertDomainsFree(c, tenantId, body.domains);
      const provider = await discoverProvider(body.issuer);
      const id = before?.id ?? randomId("sso_");
      const now = c.get("now");
      const row: SsoConnection = {
        id,
        tenantId,
        protocol: "oidc",
        issuer: body.issuer,
        clientId: body.clientId,
        clientSecretEnc: secret === null ? (before as Connection).clientSecretEnc : await sealSecret(c.env, secret, id),
        providerMetadata: provider as Record<string, unknown>,
        jitProvisioning: body.jitProvisioning,
        defaultRole: body.defaultRole,
        requireSso: body.requireSso,
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      const after: Connection = { ...row, domains: [...body.domains].sort() };
      try {
        await commitWithAudit(c, saveStatements(c, row, before, after.domains), {
          action: "SSO_CONNECTION_SAVED",
          outcome: "SUCCESS",
          targetType: "sso_connection",
          targetId: id,
          before: before ? auditedConnection(before) : null,
          after: auditedConnection(after),
          metadata: { secretChanged: secret !== null },
        });
      } catch (err) {
        if (failedWith(err, /UNIQUE constraint failed: sso_domains\./)) throw domainTaken(after.domains);
        throw err;
      }
      // requireSso is part of the tenant's policy at the edge (src/edge-document/).
      const propagation = await rewriteEdgeAfterRuleOrPolicyChange(c, tenantId);
      return c.json({ connection: toConnectionView(c.env, after), ...withPropagation(propagation) });
    },
  )
  .delete(
    "/sso",
    audited("SSO_CONNECTION_DELETED", { targetType: "sso_connection" }),
    forbidWhileImpersonating("Removing single sign-on"),
    requireRole("owner"),
    requireStepUp("SSO_CHANGE"),
    answers("SSO_NOT_CONFIGURED"),
    async (c) => {
      const tenantId = c.get("user").tenantId;
      const before = await loadConnection(c.var.db, tenantId);
      if (!before) throw notFound("Single sign-on connection", "SSO_NOT_CONFIGURED");
      const db = c.var.db;
      await commitWithAudit(
        c,
        [
          db.delete(ssoDomains).where(eq(ssoDomains.connectionId, before.id)),
          db.delete(ssoIdentities).where(eq(ssoIdentities.connectionId, before.id)),
          unmarkSessions(c, before.id),
          db.delete(ssoFlows).where(eq(ssoFlows.connectionId, before.id)),
          db.delete(ssoConnections).where(eq(ssoConnections.id, before.id)),
        ],
        { action: "SSO_CONNECTION_DELETED", outcome: "SUCCESS", targetType: "sso_connection", targetId: before.id, before: auditedConnection(before), after: null },
      );
      const propagation = await rewriteEdgeAfterRuleOrPolicyChange(c, tenantId);
      return c.json({ success: true, ...withPropagation(propagation) });
    },
  );
