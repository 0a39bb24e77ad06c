/**
 * A member as a SCIM User resource (RFC 7643 §4.1), and the reads behind it: one member, or
 * a page of the tenant's members, always within the token's tenant and never a removed one
 * (another tenant's member, or a removed one, is not found).
 *
 * `id` is the Gatehouse user id; `userName` (and the one work email) is the member's
 * normalised email; `displayName` (and `name.formatted`) their display name; `externalId`
 * the provider's own id for them, as it sent it; `active` is not disabled. `meta.location`
 * starts with PUBLIC_ORIGIN (./protocol.ts); `meta.lastModified` is the newest change to
 * those attributes in the tenant's audit log (created, when the log has none).
 */
import { type SQL, and, asc, count, eq, isNull } from "drizzle-orm";
import type { AuditAction } from "../audit/actions";
import type { TenantChain } from "../audit/read";
import type { Db } from "../db/client";
import { type User, users } from "../db/schema";
import type { Bindings } from "../env";
import { SCIM_SCHEMAS, scimBaseUrl } from "./protocol";

/** The actions that change what a User resource shows. */
const RESOURCE_CHANGES: AuditAction[] = ["SCIM_USER_CREATED", "SCIM_USER_UPDATED", "USER_DISABLED", "USER_ENABLED", "PROFILE_UPDATED"];

export type ScimMember = { user: User; lastChangedAt: number | null };

const current = (tenantId: string) => and(eq(users.tenantId, tenantId), isNull(users.removedAt));

/** The members with their last change, asked of the tenant's chain in one call (it throws when unreachable: the request fails closed). */
async function withLastChange(chain: TenantChain, tenantId: string, found: User[]): Promise<ScimMember[]> {
  if (found.length === 0) return [];
  const changed = await chain.auditLastChanged(tenantId, found.map((u) => u.id), RESOURCE_CHANGES);
  return found.map((user) => ({ user, lastChangedAt: changed[user.id] ?? null }));
}

/** A current member of the tenant, by id, or undefined. */
export async function findScimMember(db: Db, chain: TenantChain, tenantId: string, id: string): Promise<ScimMember | undefined> {
  const found = await db.select().from(users).where(and(current(tenantId), eq(users.id, id))).limit(1);
  const [member] = await withLastChange(chain, tenantId, found);
  return member;
}

/** One page of the tenant's current members matching `where`, oldest first, and how many match in all. */
export async function listScimMembers(db: Db, chain: TenantChain, tenantId: string, where: SQL | undefined, page: { startIndex: number; count: number }) {
  const matching = and(current(tenantId), where);
  const [[total], rows] = await Promise.all([
    db.select({ n: count() }).from(users).where(matching),
    page.count === 0
      ? Promise.resolve([])
      : db
          .select()
          .from(users)
          .where(matching)
          .orderBy(asc(users.createdAt), asc(users.id))
          .limit(page.count)
          .offset(page.startIndex - 1),
  ]);
  return { total: total?.n ?? 0, members: await withLastChange(chain, tenantId, rows) };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toScimUser(env: Bindings, { user, lastChangedAt: changed }: ScimMember) {
  return {
    schemas: [SCIM_SCHEMAS.user],
    id: user.id,
    ...(user.scimExternalId !== null ? { externalId: user.scimExternalId } : {}),
    userName: user.email,
    name: { formatted: user.displayName },
    displayName: user.displayName,
    emails: [{ value: user.email, type: "work", primary: true }],
    active: user.disabledAt === null,
    meta: {
      resourceType: "User",
      created: iso(user.createdAt),
      lastModified: iso(Math.max(user.createdAt, changed ?? user.createdAt)),
      location: `${scimBaseUrl(env)}/Users/${user.id}`,
    },
  };
}
