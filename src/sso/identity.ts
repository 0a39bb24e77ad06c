/**
 * Who a validated ID token names, for sign-in's "who is this" step (src/auth/sign-in.ts):
 * the member linked to the provider's `sub` (sso_identities), else the tenant's current
 * member with the token's email (then linked), else a member created for it when the
 * connection provisions (JIT, with the connection's default role, never owner), else
 * 403 SSO_USER_NOT_PROVISIONED.
 *
 * Threat model: one tenant's provider signing someone in to another tenant. The email must
 * be verified by the provider (`email_verified: true`) and its domain one of the
 * connection's (a domain belongs to one tenant); the member found is always of the
 * connection's tenant, and an email that is another tenant's member's is refused (emails
 * are unique among current members, so sign-in could never create it either). A `sub`
 * already linked to a member keeps signing in that member only; a member linked to
 * another `sub` of this provider is not taken over by a new one with the same email.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { type User, ssoIdentities, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { emailSchema } from "../lib/email";
import { failClosed } from "../lib/fail-closed";
import { NO_PASSWORD } from "../lib/password";
import { displayNameSchema } from "../lib/schemas";
import { findCurrentUserByEmail, newUserRow } from "../users/service";
import type { ProviderIdentity } from "./id-token";
import { type Connection, emailDomain } from "./store";

/** RFC 8176's registered `amr` values: what of the provider's own a session may carry (then "fed"). */
const REGISTERED_AMR = ["face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia"];

/** The session's `amr` for a provider's sign-in: the provider's registered values, then "fed" (federated). */
export function federatedAmr(amr: unknown): string[] {
  const given = Array.isArray(amr) ? amr.filter((v): v is string => typeof v === "string" && REGISTERED_AMR.includes(v)) : [];
  return [...new Set(given), "fed"];
}

/** Whom the provider's sign-in names: the member (existing, or to be created in the session's batch), and the batch's statements. */
export type SsoMember = { user: User; email: string; changes: BatchItem<"sqlite">[]; provisioned: boolean };

const refuse = (connection: Connection, status: 403, code: "SSO_EMAIL_NOT_VERIFIED" | "SSO_DOMAIN_MISMATCH" | "SSO_USER_NOT_PROVISIONED", message: string, reason: string, userId?: string) =>
  new ApiError(status, code, message, { audit: { tenantId: connection.tenantId, actorUserId: userId ?? null, targetType: "user", targetId: userId ?? null, failureReason: reason } });

/**
 * Whether the provider says the email is verified: `email_verified: true`; or, where the
 * token carries no `email_verified` at all, Entra ID's documented signal in its place, the
 * optional claim `xms_edov: true` (the email's domain is one the directory's owner verified:
 * with the connection's own domains checked below, that is the organisation's own address).
 * An explicit `email_verified: false` is never overridden.
 */
const emailVerified = (identity: ProviderIdentity) =>
  identity.emailVerified === true || (identity.emailVerified === undefined && identity.emailDomainVerified === true);

/** The token's email, when the provider verified it and its domain is the connection's. */
function vouchedEmail(connection: Connection, identity: ProviderIdentity): string {
  const parsed = emailSchema.safeParse(identity.email);
  if (!emailVerified(identity) || !parsed.success) {
    throw refuse(connection, 403, "SSO_EMAIL_NOT_VERIFIED", "Your identity provider does not say your email is verified", parsed.success ? "SSO_EMAIL_NOT_VERIFIED" : "SSO_EMAIL_MISSING");
  }
  if (!connection.domains.includes(emailDomain(parsed.data))) {
    throw refuse(connection, 403, "SSO_DOMAIN_MISMATCH", "Your identity provider vouched for an email outside your organisation's single sign-on domains", "SSO_DOMAIN_MISMATCH");
  }
  return parsed.data;
}

/**
 * A new member for `email`: the connection's default role, and no password of their own
 * (NO_PASSWORD.provisioned, as SCIM's: a password sign-in with it costs the same work as
 * anyone's and never succeeds; a reset link gives them one).
 */
async function provisionedMember(c: Context<AppEnv>, connection: Connection, email: string, name: unknown): Promise<User> {
  const displayName = displayNameSchema.safeParse(name);
  return newUserRow({
    tenantId: connection.tenantId,
    email,
    displayName: displayName.success ? displayName.data : email.slice(0, email.indexOf("@")).slice(0, 100),
    role: connection.defaultRole,
    passwordHash: NO_PASSWORD.provisioned,
    createdAt: c.get("now"),
  });
}

/** The member the provider's sign-in names, and how to link them (see the header). */
export async function identifySsoMember(c: Context<AppEnv>, connection: Connection, identity: ProviderIdentity): Promise<SsoMember> {
  const db = c.var.db;
  const now = c.get("now");
  const email = vouchedEmail(connection, identity);
  const link = (user: User) =>
    db
      .insert(ssoIdentities)
      .values({ connectionId: connection.id, subject: identity.sub, tenantId: connection.tenantId, userId: user.id, createdAt: now, lastSignInAt: now })
      .onConflictDoUpdate({ target: [ssoIdentities.connectionId, ssoIdentities.subject], set: { userId: user.id, lastSignInAt: now } });

  const { linked, byEmail } = await failClosed("single sign-on member lookup", async () => {
    const [row] = await db
      .select({ user: users })
      .from(ssoIdentities)
      .innerJoin(users, eq(users.id, ssoIdentities.userId))
      .where(and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.subject, identity.sub), eq(users.tenantId, connection.tenantId), isNull(users.removedAt)))
      .limit(1);
    return { linked: row?.user ?? null, byEmail: row ? null : ((await findCurrentUserByEmail(db, email)) ?? null) };
  });
  if (linked) return { user: linked, email, changes: [link(linked)], provisioned: false };

  if (byEmail && byEmail.tenantId !== connection.tenantId) {
    throw refuse(connection, 403, "SSO_USER_NOT_PROVISIONED", "This email belongs to an account of another organisation", "SSO_EMAIL_OF_ANOTHER_TENANT");
  }
  if (byEmail) {
    const other = await failClosed("single sign-on member lookup", () =>
      db.query.ssoIdentities.findFirst({ where: and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.userId, byEmail.id)) }),
    );
    if (other) throw refuse(connection, 403, "SSO_USER_NOT_PROVISIONED", "This account is linked to another identity at your provider; ask an administrator", "SSO_LINKED_TO_ANOTHER_SUBJECT", byEmail.id);
    return { user: byEmail, email, changes: [link(byEmail)], provisioned: false };
  }
  if (!connection.jitProvisioning) {
    throw refuse(connection, 403, "SSO_USER_NOT_PROVISIONED", "Your organisation has no account for this email, and single sign-on does not create one; ask an administrator", "SSO_USER_NOT_PROVISIONED");
  }
  const user = await provisionedMember(c, connection, email, identity.name);
  return { user, email, changes: [db.insert(users).values(user), link(user)], provisioned: true };
}
