/**
 * WebAuthn challenges: issued by Gatehouse, single use, valid 5 minutes, and bound to what
 * they were issued for. A registration's and a step-up's challenge belong to one session
 * (a step-up's to one purpose too); a sign-in's to nothing but itself (who signs in is not
 * known until the credential answers).
 *
 * Threat model: replay of a captured response (the challenge is claimed by a conditional
 * UPDATE before the response is checked, so two requests cannot both use it, and a refused
 * response spends it too); a response obtained in one session finishing a ceremony in
 * another (the session binding); a challenge earned for one step-up purpose spent on
 * another. Only the challenge's SHA-256 is stored; the response names its challenge in
 * clientDataJSON, which is how the finishing request finds it. A store that fails denies
 * (503, src/lib/fail-closed.ts).
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { webauthnChallenges } from "../db/schema";
import { randomBytes, randomId, sha256Hex, toBase64Url } from "../lib/crypto";
import { failClosed } from "../lib/fail-closed";

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export type ChallengeKind = (typeof webauthnChallenges.$inferSelect)["kind"];

/** What a challenge is bound to: a session (registration, step-up), a user, a purpose (step-up). */
export type ChallengeBinding = { kind: ChallengeKind; sessionId?: string | null; userId?: string | null; purpose?: string | null };

/** A new challenge (base64url, 32 random bytes) and the id it is stored under. */
export async function issueChallenge(db: Db, binding: ChallengeBinding, nowMs: number): Promise<{ id: string; challenge: string }> {
  const challenge = toBase64Url(randomBytes(32));
  const id = randomId("wac_");
  const challengeHash = await sha256Hex(challenge);
  await failClosed("passkey challenge store", () => db.insert(webauthnChallenges).values({
    id,
    kind: binding.kind,
    challengeHash,
    sessionId: binding.sessionId ?? null,
    userId: binding.userId ?? null,
    purpose: binding.purpose ?? null,
    createdAt: nowMs,
    expiresAt: nowMs + CHALLENGE_TTL_MS,
  }));
  return { id, challenge };
}

/** Why a challenge does not count: unknown or bound elsewhere, already used, or expired. */
export type ChallengeRefusal = "PASSKEY_CHALLENGE_MISMATCH" | "PASSKEY_CHALLENGE_USED" | "PASSKEY_CHALLENGE_EXPIRED";

/**
 * Claims the challenge a response names, for `expected`: null when it was this binding's,
 * unused and unexpired (and is now used), else why not. `id`, when the client was given
 * one (sign-in), must name the same challenge.
 */
export async function claimChallenge(db: Db, challenge: string, expected: ChallengeBinding & { id?: string }, nowMs: number): Promise<ChallengeRefusal | null> {
  const hash = await sha256Hex(challenge);
  return failClosed("passkey challenge store", () => claimStored(db, hash, expected, nowMs));
}

async function claimStored(db: Db, hash: string, expected: ChallengeBinding & { id?: string }, nowMs: number): Promise<ChallengeRefusal | null> {
  const row = await db.query.webauthnChallenges.findFirst({ where: eq(webauthnChallenges.challengeHash, hash) });
  if (!row || !boundAsExpected(row, expected)) return "PASSKEY_CHALLENGE_MISMATCH";
  if (row.usedAt !== null) return "PASSKEY_CHALLENGE_USED";
  if (row.expiresAt <= nowMs) return "PASSKEY_CHALLENGE_EXPIRED";
  const claimed = await db
    .update(webauthnChallenges)
    .set({ usedAt: nowMs })
    .where(and(eq(webauthnChallenges.id, row.id), isNull(webauthnChallenges.usedAt), gt(webauthnChallenges.expiresAt, nowMs)));
  // Another request claimed it between the read and the update.
  return claimed.meta.changes === 1 ? null : "PASSKEY_CHALLENGE_USED";
}

function boundAsExpected(row: typeof webauthnChallenges.$inferSelect, expected: ChallengeBinding & { id?: string }): boolean {
  return (
    row.kind === expected.kind &&
    (expected.id === undefined || row.id === expected.id) &&
    row.sessionId === (expected.sessionId ?? null) &&
    row.userId === (expected.userId ?? null) &&
    row.purpose === (expected.purpose ?? null)
  );
}
