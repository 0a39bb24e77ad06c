/**
 * Moving audit stream tokens to the current key of TOTP_ENCRYPTION_KEY after a rotation, as
 * SSO client secrets move (src/sso/reseal.ts): a bounded batch per scheduled run
 * (src/key-rotation.ts), resuming after the stream the last run stopped at (the
 * "audit-stream-token-reseal" cursor). A delivery re-seals the token it opens too
 * (./deliver.ts); this run covers the streams that do not deliver (paused, stopped).
 */
import { and, gt, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { resumableWalk } from "../db/job-cursor";
import { type ResealResult, resealOne, staleSealCondition } from "../stepup/reseal";
import type { TotpKeyEnv } from "../stepup/secret-box";
import { resealStreamToken } from "./deliver";
import { auditStreams } from "./table";

const PAGE_ROWS = 100;

export async function resealStaleStreamTokens(db: Db, env: TotpKeyEnv, maxRows: number, nowMs: number): Promise<ResealResult> {
  const { stale } = await staleSealCondition(env);
  const result: ResealResult = { resealed: 0, unopenable: 0, examined: 0, done: false };
  const walk = await resumableWalk(db, "audit-stream-token-reseal", nowMs, { maxRows, pageRows: PAGE_ROWS }, async (after, upTo, limit) => {
    const rows = await db
      .select()
      .from(auditStreams)
      .where(and(after === null ? undefined : gt(auditStreams.id, after), upTo === null ? undefined : lte(auditStreams.id, upTo), stale(auditStreams.tokenEnc)))
      .orderBy(auditStreams.id)
      .limit(limit);
    for (const row of rows) {
      await resealOne(env, result, { what: "audit stream token", sealed: row.tokenEnc, boundTo: `audit-stream:${row.tenantId}` }, (token) => resealStreamToken(db, env, row, token));
    }
    return rows.map((row) => row.id);
  });
  result.examined = walk.examined;
  result.done = walk.finished;
  return result;
}
