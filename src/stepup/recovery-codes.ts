/**
 * Recovery codes: 10 single-use codes of 80 random bits each (NIST SP 800-63B-4
 * §3.1.2 look-up secrets: at least 64 bits when rate-limited). Only SHA-256 hashes
 * are stored; a fast hash is enough at this entropy.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { recoveryCodes } from "../db/schema";
import { randomBytes, randomId, sha256Hex } from "../lib/crypto";

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"; // no 0/o/1/l/i: read aloud, typed by hand

export function generateRecoveryCode(): string {
  const chars = Array.from(randomBytes(16), (b) => ALPHABET[b % ALPHABET.length]).join("");
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}-${chars.slice(12, 16)}`;
}

export function normaliseRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export const hashRecoveryCode = (code: string) => sha256Hex(`recovery:${normaliseRecoveryCode(code)}`);

/** Fresh codes and the statements that replace the user's old ones with them. */
export async function newRecoveryCodes(db: Db, tenantId: string, userId: string, nowMs: number) {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  const rows = await Promise.all(
    codes.map(async (code) => ({ id: randomId("rc_"), tenantId, userId, codeHash: await hashRecoveryCode(code), createdAt: nowMs })),
  );
  const statements = [db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)), db.insert(recoveryCodes).values(rows)] as const;
  return { codes, statements };
}

/** Marks a code used; true only for the one request that actually consumed it. */
export async function consumeRecoveryCode(db: Db, userId: string, code: string, nowMs: number): Promise<boolean> {
  const result = await db
    .update(recoveryCodes)
    .set({ usedAt: nowMs })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, await hashRecoveryCode(code)), isNull(recoveryCodes.usedAt)));
  return result.meta.changes === 1;
}
