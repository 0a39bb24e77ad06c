/**
 * A tenant's SCIM bearer token: how one is made, how a SCIM request is authenticated with
 * it, and when it stops working.
 *
 * Threat model: the token provisions and deprovisions the tenant's members, so it is a
 * credential of the tenant. 256 random bits, shown once; only its SHA-256 is stored, and a
 * request's token is found by the digest of what it presents (a leaked table yields no
 * token; nothing is compared character by character). One per tenant: a new one replaces
 * the old in the same batch (src/scim/token-routes.ts). Only the bearer token authenticates
 * SCIM: a session cookie is never read here, and the token authenticates nothing else.
 *
 * Granted by an owner, it stands only while its creator could still grant it: an enabled
 * owner of the tenant, not removed (the rule invitations follow, src/users/inviter-standing.ts,
 * checked the same way: on every use, against the creator as they are now, so a demoted,
 * disabled or removed creator's token is refused on its next request, whatever changed them).
 * A store that cannot be read denies with 503, never a pass.
 */
import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Db } from "../db/client";
import { type Role, type User, scimTokens, tenants, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { randomBytes, sha256Hex, toBase64Url } from "../lib/crypto";
import { failClosed } from "../lib/fail-closed";
import { errorSummary, log } from "../lib/log";
import { noted } from "../openapi/notes";

/** Who may create (and so grant) a tenant's SCIM token: the route's requireRole and the token's standing both read it. */
export const SCIM_TOKEN_GRANTOR: Role = "owner";

/** `scim_` and 32 random bytes, base64url. */
const TOKEN_PREFIX = "scim_";

/** The token's last use is written at most this often (not on every call). */
const LAST_USE_RESOLUTION_MS = 60_000;

type Creator = Pick<User, "role" | "disabledAt" | "removedAt">;

/** Could the token's creator (as they are now) still grant it? An unknown creator cannot. */
export function creatorStillGrants(creator: Creator | null | undefined): boolean {
  return !!creator && creator.role === SCIM_TOKEN_GRANTOR && creator.disabledAt === null && creator.removedAt === null;
}

export async function newScimToken(): Promise<{ token: string; tokenHash: string }> {
  const token = `${TOKEN_PREFIX}${toBase64Url(randomBytes(32))}`;
  return { token, tokenHash: await sha256Hex(token) };
}

/** The token a SCIM request presents (`Authorization: Bearer <token>`), or null. */
function presentedToken(header: string | undefined): string | null {
  const match = /^Bearer +([\x21-\x7e]{1,256})$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/** The stored token a digest names, with what its standing depends on (its creator, its tenant). */
async function findToken(db: Db, tokenHash: string) {
  const [row] = await db
    .select({
      id: scimTokens.id,
      tenantId: scimTokens.tenantId,
      lastUsedAt: scimTokens.lastUsedAt,
      tenantDisabledAt: tenants.disabledAt,
      creator: { role: users.role, disabledAt: users.disabledAt, removedAt: users.removedAt },
    })
    .from(scimTokens)
    .innerJoin(tenants, eq(tenants.id, scimTokens.tenantId))
    // The creator is a member of the token's tenant, or nobody.
    .leftJoin(users, and(eq(users.id, scimTokens.createdBy), eq(users.tenantId, scimTokens.tenantId)))
    .where(eq(scimTokens.tokenHash, tokenHash))
    .limit(1);
  return row;
}

const refused = (message: string, failureReason?: string) =>
  new ApiError(401, "SCIM_TOKEN_INVALID", message, failureReason ? { audit: { failureReason } } : {});

/**
 * Authenticates a SCIM request by its bearer token: 401 SCIM_TOKEN_INVALID without one, for
 * an unknown (or replaced, or deleted) one and for one whose creator no longer grants it;
 * 403 TENANT_DISABLED for a disabled tenant. Once the token is known, the request's audit
 * rows name it (auditActor), refusals included.
 */
export const requireScimToken = () =>
  noted(scimTokenCheck(), { errors: ["SCIM_TOKEN_INVALID", "TENANT_DISABLED", "AUTH_UNAVAILABLE"], security: "scimToken" });

const scimTokenCheck = () =>
  createMiddleware<AppEnv>(async function requireScimToken(c, next) {
    const presented = presentedToken(c.req.header("authorization"));
    if (presented === null) throw refused("Send the tenant's SCIM token: Authorization: Bearer <token>");
    const tokenHash = await sha256Hex(presented);
    const found = await failClosed("SCIM token lookup", () => findToken(c.var.db, tokenHash));
    if (!found) throw refused("The SCIM token is not valid (wrong, replaced or deleted)");
    c.set("auditActor", { tenantId: found.tenantId, metadata: { by: "scim", scimTokenId: found.id } });
    if (!creatorStillGrants(found.creator)) {
      throw refused("The SCIM token stopped working: the owner who created it no longer is one; an owner creates a new one", "SCIM_TOKEN_CREATOR_NOT_OWNER");
    }
    if (found.tenantDisabledAt !== null) throw new ApiError(403, "TENANT_DISABLED", "The organisation's access to Gatehouse has been disabled");
    c.set("scimToken", { id: found.id, tenantId: found.tenantId });
    recordUse(c, found);
    await next();
  });

/** The authenticated SCIM token (set by requireScimToken, which every SCIM route is behind). */
export function scimTokenOf(c: Context<AppEnv>): { id: string; tenantId: string } {
  const token = c.get("scimToken");
  if (!token) throw new Error("a SCIM route is reached only through requireScimToken");
  return token;
}

/**
 * Writes the token's last use beside the answer when the stored one is a minute old or more:
 * at most one D1 write a minute, not one per call. Its failure is logged and changes nothing.
 */
function recordUse(c: Context<AppEnv>, token: { id: string; lastUsedAt: number | null }): void {
  const now = c.get("now");
  if (token.lastUsedAt !== null && now - token.lastUsedAt < LAST_USE_RESOLUTION_MS) return;
  const stale = or(isNull(scimTokens.lastUsedAt), lte(scimTokens.lastUsedAt, now - LAST_USE_RESOLUTION_MS));
  const write = c.var.db
    .update(scimTokens)
    .set({ lastUsedAt: now })
    .where(and(eq(scimTokens.id, token.id), stale))
    .then(
      () => undefined,
      (err: unknown) => log.error("SCIM token last use not recorded", { error: errorSummary(err) }),
    );
  c.executionCtx.waitUntil(write);
}
