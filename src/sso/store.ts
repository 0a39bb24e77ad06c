/**
 * A tenant's single sign-on connection as the rest of Gatehouse reads it: by tenant (the
 * panel's routes), by email domain (sign-in's email-first step), by issuer and client id
 * (a back-channel logout names only those), and its client secret opened for the token
 * endpoint. The secret is sealed like a TOTP secret (src/stepup/secret-box.ts: AES-GCM
 * under the TOTP_ENCRYPTION_KEY key set, the connection id bound as associated data, so a
 * database writer cannot move one tenant's secret onto another's row) and leaves this
 * module only towards the provider: never in an answer, an audit row or a log line.
 */
import { and, asc, eq } from "drizzle-orm";
import type { AuthorizationServer } from "oauth4webapi";
import type { Db } from "../db/client";
import { type SsoConnection, ssoConnections, ssoDomains } from "../db/schema";
import type { Bindings } from "../env";
import { ApiError } from "../errors";
import { openSecret } from "../stepup/secret-box";
import { backchannelLogoutUri, redirectUri } from "./urls";

/** A connection with its domains. */
export type Connection = SsoConnection & { domains: string[] };

async function withDomains(db: Db, row: SsoConnection | undefined): Promise<Connection | null> {
  if (!row) return null;
  const domains = await db.select({ domain: ssoDomains.domain }).from(ssoDomains).where(eq(ssoDomains.connectionId, row.id)).orderBy(asc(ssoDomains.domain));
  return { ...row, domains: domains.map((d) => d.domain) };
}

/** The tenant's connection, or null. */
export async function loadConnection(db: Db, tenantId: string): Promise<Connection | null> {
  return withDomains(db, await db.query.ssoConnections.findFirst({ where: eq(ssoConnections.tenantId, tenantId) }));
}

/** The connection that holds `domain` (lower-case), or null. */
export async function connectionForDomain(db: Db, domain: string): Promise<Connection | null> {
  const [row] = await db
    .select({ connection: ssoConnections })
    .from(ssoDomains)
    .innerJoin(ssoConnections, eq(ssoConnections.id, ssoDomains.connectionId))
    .where(eq(ssoDomains.domain, domain))
    .limit(1);
  return withDomains(db, row?.connection);
}

/** The connections of this provider and client (usually one; two tenants may register the same client). */
export async function connectionsForClient(db: Db, issuer: string, clientId: string): Promise<SsoConnection[]> {
  return db
    .select()
    .from(ssoConnections)
    .where(and(eq(ssoConnections.issuer, issuer), eq(ssoConnections.clientId, clientId)))
    .limit(20);
}

/** The part of an email after its last "@", as domains are stored (lower-case). */
export const emailDomain = (email: string) => email.slice(email.lastIndexOf("@") + 1).toLowerCase();

/** The provider's validated discovery document, as oauth4webapi takes it. */
export const providerOf = (connection: SsoConnection) => connection.providerMetadata as unknown as AuthorizationServer;

/**
 * Opens a sealed value of a connection's (its client secret, or a sign-in's PKCE verifier
 * bound to the sign-in's id): a key set that cannot open it is 503 AUTH_UNAVAILABLE, never
 * a pass (the secret box's own answer names two-factor, which is not what failed here).
 */
export async function openSsoSecret(env: Bindings, sealed: string, boundTo: string): Promise<string> {
  try {
    return (await openSecret(env, sealed, boundTo)).secret;
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(503, "AUTH_UNAVAILABLE", "Single sign-on is unavailable on this deployment; the operator has been told");
    throw err;
  }
}

/** The connection as its routes answer it: never the secret, only that one is set; the URIs to paste at the provider. */
export function toConnectionView(env: Bindings, c: Connection) {
  const provider = providerOf(c);
  return {
    id: c.id,
    protocol: c.protocol,
    issuer: c.issuer,
    clientId: c.clientId,
    secretSet: true,
    domains: c.domains,
    jitProvisioning: c.jitProvisioning,
    defaultRole: c.defaultRole,
    requireSso: c.requireSso,
    redirectUri: redirectUri(env),
    backchannelLogoutUri: backchannelLogoutUri(env),
    provider: {
      authorizationEndpoint: provider.authorization_endpoint ?? null,
      tokenEndpoint: provider.token_endpoint ?? null,
      jwksUri: provider.jwks_uri ?? null,
      backchannelLogoutSupported: provider.backchannel_logout_supported === true,
    },
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

/** What an audit row says of a connection (before/after): everything but the secret. */
export function auditedConnection(c: Connection) {
  return {
    issuer: c.issuer,
    clientId: c.clientId,
    domains: c.domains,
    jitProvisioning: c.jitProvisioning,
    defaultRole: c.defaultRole,
    requireSso: c.requireSso,
  };
}
