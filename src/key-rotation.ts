/**
 * After a key rotation, moves what was made under a previous key to the current one, a
 * bounded batch per scheduled run (src/worker.ts): TOTP secrets are re-sealed under the
 * current TOTP_ENCRYPTION_KEY (src/stepup/reseal.ts) and retention checkpoints re-signed
 * under the current AUDIT_CHECKPOINT_KEY (src/audit/checkpoint.ts). Once a run reports
 * nothing left (`npm run keys:status` asks D1 directly), the previous key can leave the
 * set. Device cookies need no batch: each sign-in renews its cookie under the current key.
 */
import { checkpointKey, resignCheckpoints } from "./audit/checkpoint";
import { configuredKeySet } from "./config";
import { createDb } from "./db/client";
import type { Bindings } from "./env";
import { errorSummary } from "./lib/log";
import { type ResealResult, resealStaleSecrets } from "./stepup/reseal";

/** Rows examined per run: well inside a Cron Trigger's limits (two AES operations and one write each). */
export const RESEAL_ROWS_PER_RUN = 2000;
export const RESIGN_CHECKPOINTS_PER_RUN = 500;

type Outcome<T> = T | { skipped: "no key" } | { failed: string };

export async function runKeyRotation(env: Bindings, limits = { totpRows: RESEAL_ROWS_PER_RUN, checkpoints: RESIGN_CHECKPOINTS_PER_RUN }) {
  const db = createDb(env.DB);
  const totp: Outcome<ResealResult> = configuredKeySet(env, "totp")
    ? await resealStaleSecrets(db, env, limits.totpRows).catch((err: unknown) => ({ failed: errorSummary(err) }))
    : { skipped: "no key" };
  const keys = await checkpointKey(env);
  const checkpoints: Outcome<{ resigned: number; unauthentic: number }> = keys
    ? await resignCheckpoints(db, keys, limits.checkpoints).catch((err: unknown) => ({ failed: errorSummary(err) }))
    : { skipped: "no key" };
  return { totpSecrets: totp, checkpoints };
}
