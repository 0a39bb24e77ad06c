/**
 * After a key rotation, moves what was made under a previous key to the current one, a
 * bounded batch per scheduled run (src/worker.ts): TOTP secrets, single sign-on client
 * secrets and audit stream tokens are re-sealed under the current TOTP_ENCRYPTION_KEY
 * (src/stepup/reseal.ts, src/sso/reseal.ts, src/audit-stream/reseal.ts) and retention checkpoints re-signed
 * under the current AUDIT_CHECKPOINT_KEY (src/audit/checkpoint.ts). Once a run reports
 * nothing left (`npm run keys:status` asks D1 directly), the previous key can leave the
 * set. Each job resumes after the row its last run stopped at (src/db/job-cursor.ts), so
 * rows that cannot be moved never keep a run from the rest. Device cookies need no batch: each sign-in renews its cookie under the current key.
 */
import { checkpointKeySet, resignCheckpoints } from "./audit/checkpoint";
import { configuredKeySet } from "./config";
import { createDb } from "./db/client";
import type { Bindings } from "./env";
import { errorSummary } from "./lib/log";
import { resealStaleStreamTokens } from "./audit-stream/reseal";
import { resealStaleConnectionSecrets } from "./sso/reseal";
import { resealStaleSecrets } from "./stepup/reseal";

/** Rows examined per run: well inside a Cron Trigger's limits (two AES operations and one write each). */
export const RESEAL_ROWS_PER_RUN = 2000;
export const RESIGN_CHECKPOINTS_PER_RUN = 500;
/** Connections (and audit streams) examined per run (one per tenant at most). */
export const RESEAL_CONNECTIONS_PER_RUN = 500;

type Outcome<T> = T | { skipped: "no key" } | { failed: string };

const RUN_LIMITS = { totpRows: RESEAL_ROWS_PER_RUN, checkpoints: RESIGN_CHECKPOINTS_PER_RUN, ssoConnections: RESEAL_CONNECTIONS_PER_RUN, auditStreams: RESEAL_CONNECTIONS_PER_RUN };

/** A job that needs a key: skipped without it, its failure an outcome (the other jobs still run). */
async function attempt<K, T>(key: K | null, job: (key: K) => Promise<T>): Promise<Outcome<T>> {
  if (key === null) return { skipped: "no key" };
  return job(key).catch((err: unknown) => ({ failed: errorSummary(err) }));
}

export async function runKeyRotation(env: Bindings, nowMs: number, given: Partial<typeof RUN_LIMITS> = {}) {
  const limits = { ...RUN_LIMITS, ...given };
  const db = createDb(env.DB);
  const totpKeys = configuredKeySet(env, "totp");
  const totp = await attempt(totpKeys, () => resealStaleSecrets(db, env, limits.totpRows, nowMs));
  const ssoSecrets = await attempt(totpKeys, () => resealStaleConnectionSecrets(db, env, limits.ssoConnections, nowMs));
  const streamTokens = await attempt(totpKeys, () => resealStaleStreamTokens(db, env, limits.auditStreams, nowMs));
  const checkpoints = await attempt(checkpointKeySet(env), (keys) => resignCheckpoints(env, db, keys, limits.checkpoints, nowMs));
  return { totpSecrets: totp, ssoClientSecrets: ssoSecrets, auditStreamTokens: streamTokens, checkpoints };
}
