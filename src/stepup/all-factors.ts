/**
 * Every second factor a user has, removed in one place: an admin's MFA reset and a
 * member's removal both take the TOTP secret (enabled or pending), the recovery codes and
 * the passkeys, in the caller's batch. A factor kind added later is added here.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { passkeys, recoveryCodes, users } from "../db/schema";

/** The user's factors as a user without any has them. */
export const NO_SECOND_FACTOR = { totpSecretEnc: null, totpPendingSecretEnc: null, totpPendingSessionId: null, totpEnabled: false, totpLastStep: null, passkeyCount: 0 } as const;

/** Batch items removing every second factor of `userId` (the users row's own columns: NO_SECOND_FACTOR, for a caller updating that row anyway). */
export function removeSecondFactors(db: Db, userId: string, options: { userRow: boolean } = { userRow: true }) {
  return [
    ...(options.userRow ? [db.update(users).set(NO_SECOND_FACTOR).where(eq(users.id, userId))] : []),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.delete(passkeys).where(eq(passkeys.userId, userId)),
  ];
}
