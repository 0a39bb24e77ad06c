/**
 * The stream's token at rest: sealed by the secret box TOTP secrets and SSO client secrets
 * use (src/stepup/secret-box.ts: AES-256-GCM under the TOTP_ENCRYPTION_KEY key set), with
 * its own purpose label as the associated data, `audit-stream:<tenant id>`. So the key
 * set's rotation (a new current key, old ones kept to open, re-sealing on use) covers it
 * with no second secret to provision, and the label keeps a sealed value from being opened
 * as anything else: a database writer cannot move a user's TOTP secret, an SSO client
 * secret or another tenant's stream token onto this row (the label, and so the GCM tag,
 * differs). The token leaves this module only towards the receiver: never in an answer,
 * an audit row or a log line (the panel sees the hint, its last four characters).
 */
import type { Bindings } from "../env";
import { ApiError } from "../errors";
import { openSecret, sealSecret } from "../stepup/secret-box";

type KeyEnv = Pick<Bindings, "TOTP_ENCRYPTION_KEY">;

const label = (tenantId: string) => `audit-stream:${tenantId}`;

export const tokenHint = (token: string) => token.slice(-4);

const unavailable = () => new ApiError(503, "AUDIT_STREAM_UNAVAILABLE", "The audit stream's token cannot be sealed or opened on this deployment; the operator has been told");

/** Seals `token` for the tenant's stream under the current key; 503 AUDIT_STREAM_UNAVAILABLE without a usable key set. */
export async function sealStreamToken(env: KeyEnv, tenantId: string, token: string): Promise<string> {
  try {
    return await sealSecret(env, token, label(tenantId));
  } catch (err) {
    if (err instanceof ApiError) throw unavailable();
    throw err;
  }
}

/** Opens the tenant's sealed token; `stale` when a previous key sealed it. Throws AUDIT_STREAM_UNAVAILABLE when it does not open. */
export async function openStreamToken(env: KeyEnv, tenantId: string, sealed: string): Promise<{ token: string; stale: boolean }> {
  try {
    const { secret, stale } = await openSecret(env, sealed, label(tenantId));
    return { token: secret, stale };
  } catch (err) {
    if (err instanceof ApiError) throw unavailable();
    throw err;
  }
}
