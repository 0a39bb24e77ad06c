/**
 * Moving connections' client secrets to the current key of TOTP_ENCRYPTION_KEY after a
 * rotation, as TOTP secrets move (src/stepup/reseal.ts): a bounded batch per scheduled run
 * (src/key-rotation.ts), resuming after the connection the last run stopped at (the
 * "sso-secret-reseal" cursor), each write a compare-and-set on the old ciphertext so a
 * secret the owner replaced meanwhile is never overwritten. A sign-in's sealed PKCE
 * verifier lives ten minutes and is not moved: a key leaves its set long after.
 */
import { and, eq, gt, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { resumableWalk } from "../db/job-cursor";
import { ssoConnections } from "../db/schema";
import { type ResealResult, resealOne, staleSealCondition } from "../stepup/reseal";
import { type TotpKeyEnv, sealSecret } from "../stepup/secret-box";

const PAGE_ROWS = 100;

export async function resealStaleConnectionSecrets(db: Db, env: TotpKeyEnv, maxRows: number, nowMs: number): Promise<ResealResult> {
  const { stale } = await staleSealCondition(env);
  const result: ResealResult = { resealed: 0, unopenable: 0, examined: 0, done: false };
  const walk = await resumableWalk(db, "sso-secret-reseal", nowMs, { maxRows, pageRows: PAGE_ROWS }, async (after, upTo, limit) => {
    const rows = await db
      .select({ id: ssoConnections.id, sealed: ssoConnections.clientSecretEnc })
      .from(ssoConnections)
      .where(and(after === null ? undefined : gt(ssoConnections.id, after), upTo === null ? undefined : lte(ssoConnections.id, upTo), stale(ssoConnections.clientSecretEnc)))
      .orderBy(ssoConnections.id)
      .limit(limit);
    for (const row of rows) {
      await resealOne(env, result, { what: "SSO client secret", sealed: row.sealed, boundTo: row.id }, async (secret) => {
        const write = await db
          .update(ssoConnections)
          .set({ clientSecretEnc: await sealSecret(env, secret, row.id) })
          .where(and(eq(ssoConnections.id, row.id), eq(ssoConnections.clientSecretEnc, row.sealed)));
        return write.meta.changes === 1;
      });
    }
    return rows.map((row) => row.id);
  });
  result.examined = walk.examined;
  result.done = walk.finished;
  return result;
}
