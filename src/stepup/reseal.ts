/**
 * Moving TOTP secrets to the current key of TOTP_ENCRYPTION_KEY after a rotation: each
 * secret sealed under a previous key (or in the older v1 format) is opened and sealed
 * again under the current one, on its next successful use (an enabled one) and by a bounded batch in the
 * scheduled handler (src/key-rotation.ts). Every write is a compare-and-set on the old
 * ciphertext, so a secret changed meanwhile (re-enrolled, removed) is never overwritten.
 * The secret itself does not change: nothing to audit, no session to refresh.
 */
import { type AnyColumn, and, eq, gt, isNotNull, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { resumableWalk } from "../db/job-cursor";
import { users } from "../db/schema";
import { errorSummary, log } from "../lib/log";
import { type TotpKeyEnv, openSecret, sealSecret, totpKeys } from "./secret-box";

const PAGE_ROWS = 100;

type SealedColumn = "totpSecretEnc" | "totpPendingSecretEnc";

/** Replaces `old` with `secret` sealed under the current key, unless the column changed meanwhile. */
export async function resealSecret(db: Db, env: TotpKeyEnv, userId: string, column: SealedColumn, old: string, secret: string): Promise<boolean> {
  const sealed = await sealSecret(env, secret, userId);
  const result = await db
    .update(users)
    .set({ [column]: sealed })
    .where(and(eq(users.id, userId), eq(users[column], old)));
  return result.meta.changes === 1;
}

export type ResealResult = { resealed: number; unopenable: number; examined: number; done: boolean };

/**
 * Re-seals one stale value: opens it and has `write` store the secret sealed under the
 * current key (a compare-and-set: false when the value changed meanwhile). One that does
 * not open is counted and logged, never thrown, so it never keeps a run from the rest.
 */
export async function resealOne(env: TotpKeyEnv, result: ResealResult, value: { what: string; sealed: string; boundTo: string }, write: (secret: string) => Promise<boolean>): Promise<void> {
  try {
    const { secret } = await openSecret(env, value.sealed, value.boundTo);
    if (await write(secret)) result.resealed++;
  } catch (err) {
    result.unopenable++;
    log.error(`${value.what} not re-sealed`, { boundTo: value.boundTo, error: errorSummary(err) });
  }
}

/**
 * What a value sealed under the current key starts with, and the SQL condition "this
 * column holds a value sealed under another key": the SQL form of sealedKeyId
 * (src/stepup/secret-box.ts) and splitKeyId (src/lib/key-set.ts), the rule's owners: only
 * `v2.<current id>.` is sealed under the current key (v1 is LEGACY_KEY_ID).
 */
export async function staleSealCondition(env: TotpKeyEnv) {
  const { current } = await totpKeys(env);
  const prefix = `v2.${current.id}.`;
  return { prefix, stale: (col: AnyColumn) => and(isNotNull(col), sql`substr(${col}, 1, ${prefix.length}) <> ${prefix}`) };
}

/**
 * Re-seals up to `maxRows` users' TOTP secrets (enabled and pending) not yet sealed under
 * the current key, in pages, resuming after the user the last run stopped at (the
 * "totp-reseal" cursor, src/db/job-cursor.ts): rows that do not open (unknown key id,
 * altered row) are counted and left as they are, and never keep the next run from the
 * rest. `done` when the pass went round every stale secret.
 */
export async function resealStaleSecrets(db: Db, env: TotpKeyEnv, maxRows: number, nowMs: number): Promise<ResealResult> {
  const { prefix, stale } = await staleSealCondition(env);
  const result: ResealResult = { resealed: 0, unopenable: 0, examined: 0, done: false };
  const walk = await resumableWalk(db, "totp-reseal", nowMs, { maxRows, pageRows: PAGE_ROWS }, async (after, upTo, limit) => {
    const rows = await db
      .select({ id: users.id, totpSecretEnc: users.totpSecretEnc, totpPendingSecretEnc: users.totpPendingSecretEnc })
      .from(users)
      .where(and(after === null ? undefined : gt(users.id, after), upTo === null ? undefined : lte(users.id, upTo), or(stale(users.totpSecretEnc), stale(users.totpPendingSecretEnc))))
      .orderBy(users.id)
      .limit(limit);
    for (const row of rows) {
      for (const column of ["totpSecretEnc", "totpPendingSecretEnc"] as const) {
        const old = row[column];
        if (!old || old.startsWith(prefix)) continue;
        await resealOne(env, result, { what: "TOTP secret", sealed: old, boundTo: row.id }, (secret) => resealSecret(db, env, row.id, column, old, secret));
      }
    }
    return rows.map((row) => row.id);
  });
  result.examined = walk.examined;
  result.done = walk.finished;
  return result;
}
