/**
 * Passkeys as D1 keeps them, and the one view of one the API answers with. A user's
 * `passkey_count` (which the session state and every factor decision read: hasSecondFactor,
 * src/stepup/policy.ts) is stored so that the session state needs no join: it is recomputed
 * by passkeyCountStatement in every batch that adds or removes one passkey, and set to 0 with
 * every other factor when all of them go (src/stepup/all-factors.ts).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type Passkey, passkeys, users } from "../db/schema";
import { ApiError } from "../errors";

/** At most this many passkeys per user. */
export const MAX_PASSKEYS_PER_USER = 10;

export function toPasskeyView(p: Passkey) {
  return {
    id: p.id,
    name: p.name,
    createdAt: new Date(p.createdAt).toISOString(),
    lastUsedAt: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
    backedUp: p.backedUp,
  };
}

export function listPasskeys(db: Db, userId: string) {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt)).limit(MAX_PASSKEYS_PER_USER * 2);
}

/** The user's passkey with this id; another user's (or another tenant's) is 404, told apart from none. */
export async function findOwnPasskey(db: Db, userId: string, id: string): Promise<Passkey> {
  const row = await db.query.passkeys.findFirst({ where: and(eq(passkeys.id, id), eq(passkeys.userId, userId)) });
  if (!row) throw new ApiError(404, "PASSKEY_NOT_FOUND", "Passkey not found");
  return row;
}

export function findPasskeyByCredentialId(db: Db, credentialId: string) {
  return db.query.passkeys.findFirst({ where: eq(passkeys.credentialId, credentialId) });
}

/** Sets the user's passkey_count to what the batch leaves: the last statement of a batch that adds or removes one. */
export function passkeyCountStatement(db: Db, userId: string) {
  return db
    .update(users)
    .set({ passkeyCount: sql`(SELECT count(*) FROM ${passkeys} WHERE ${passkeys.userId} = ${userId})` })
    .where(eq(users.id, userId));
}
