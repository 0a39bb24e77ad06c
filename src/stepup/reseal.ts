/**
 * Moving TOTP secrets to the current key of TOTP_ENCRYPTION_KEY after a rotation: each
 * secret sealed under a previous key (or in the older v1 format) is opened and sealed
 * again under the current one, on its next successful use and by a bounded batch in the
 * scheduled handler (src/key-rotation.ts). Every write is a compare-and-set on the old
 * ciphertext, so a secret changed meanwhile (re-enrolled, removed) is never overwritten.
 * The secret itself does not change: nothing to audit, no session to refresh.
 */
import { type AnyColumn, and, eq, isNotNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
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
 * Re-seals up to `maxRows` users' TOTP secrets (enabled and pending) not yet sealed under
 * the current key, in pages. A secret that does not open (unknown key id, altered row) is
 * counted and left as it is. `done` when no stale secret was left to examine.
 */
export async function resealStaleSecrets(db: Db, env: TotpKeyEnv, maxRows: number): Promise<ResealResult> {
  const { current } = await totpKeys(env);
  const prefix = `v2.${current.id}.`;
  const stale = (col: AnyColumn) => and(isNotNull(col), sql`substr(${col}, 1, ${prefix.length}) <> ${prefix}`);
  const result: ResealResult = { resealed: 0, unopenable: 0, examined: 0, done: false };
  let afterId = "";
  for (;;) {
    const want = Math.min(PAGE_ROWS, maxRows - result.examined);
    if (want <= 0) return result;
    const rows = await db
      .select({ id: users.id, totpSecretEnc: users.totpSecretEnc, totpPendingSecretEnc: users.totpPendingSecretEnc })
      .from(users)
      .where(and(sql`${users.id} > ${afterId}`, or(stale(users.totpSecretEnc), stale(users.totpPendingSecretEnc))))
      .orderBy(users.id)
      .limit(want);
    for (const row of rows) {
      result.examined++;
      for (const column of ["totpSecretEnc", "totpPendingSecretEnc"] as const) {
        const old = row[column];
        if (!old || old.startsWith(prefix)) continue;
        try {
          const { secret } = await openSecret(env, old, row.id);
          if (await resealSecret(db, env, row.id, column, old, secret)) result.resealed++;
        } catch (err) {
          result.unopenable++;
          log.error("TOTP secret not re-sealed", { userId: row.id, error: errorSummary(err) });
        }
      }
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < want) {
      result.done = true;
      return result;
    }
    afterId = last.id;
  }
}
