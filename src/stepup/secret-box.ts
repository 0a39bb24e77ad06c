/**
 * TOTP secrets at rest: AES-256-GCM under the TOTP_ENCRYPTION_KEY key set
 * (src/lib/key-set.ts). The user id is bound as associated data, so a database writer
 * cannot move one user's encrypted secret onto another user's row.
 *
 * Formats: `v2.<keyId>.<iv>.<ciphertext>` (sealed under the named key), and the older
 * `v1.<iv>.<ciphertext>`, sealed before key ids existed by the bare key, which a key set
 * keeps as LEGACY_KEY_ID. Both open while their key is in the set; whatever was sealed
 * under a key other than the current one is `stale` and is re-sealed on its next
 * successful use (src/stepup/second-factor.ts) and by the scheduled re-seal
 * (src/stepup/reseal.ts). A missing or malformed key set, an unknown key id or a
 * ciphertext that does not open is 503 MFA_UNAVAILABLE: never a 500, never a pass.
 */
import { configuredKeySet } from "../config";
import type { Bindings } from "../env";
import { ApiError } from "../errors";
import { fromBase64Url, randomBytes, toBase64Url } from "../lib/crypto";
import { type ImportedKeySet, LEGACY_KEY_ID, importKeySet } from "../lib/key-set";
import { log } from "../lib/log";

const encoder = new TextEncoder();

export type TotpKeyEnv = Pick<Bindings, "TOTP_ENCRYPTION_KEY">;

const unavailable = (why: string) => {
  log.error("TOTP secret unavailable", { why });
  return new ApiError(503, "MFA_UNAVAILABLE", "Two-factor authentication is unavailable on this deployment; the operator has been told");
};

/** The TOTP keys, imported, or 503 MFA_UNAVAILABLE when TOTP_ENCRYPTION_KEY is unset or malformed. */
export async function totpKeys(env: TotpKeyEnv): Promise<ImportedKeySet> {
  const set = configuredKeySet(env, "totp");
  if (!set) throw unavailable("TOTP_ENCRYPTION_KEY is missing or malformed");
  return importKeySet(set, "totp-aes-gcm", (bytes) => crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]));
}

/** Seals `secret` for `userId` under the current key. */
export async function sealSecret(env: TotpKeyEnv, secret: string, userId: string): Promise<string> {
  const { current } = await totpKeys(env);
  const iv = randomBytes(12); // NIST SP 800-38D §8.2.2: 96-bit random IVs.
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(userId) }, current.key, encoder.encode(secret));
  return `v2.${current.id}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

/** The key id and parts of a sealed secret, or null when it is in no known format. */
export function sealedKeyId(sealed: string): { keyId: string; iv: string; ct: string } | null {
  const parts = sealed.split(".");
  const [version] = parts;
  if (version === "v1" && parts.length === 3 && parts[1] && parts[2]) return { keyId: LEGACY_KEY_ID, iv: parts[1], ct: parts[2] };
  if (version === "v2" && parts.length === 4 && parts[1] && parts[2] && parts[3]) return { keyId: parts[1], iv: parts[2], ct: parts[3] };
  return null;
}

/** Opens a sealed secret; `stale` when it was not sealed under the current key (re-seal it). */
export async function openSecret(env: TotpKeyEnv, sealed: string, userId: string): Promise<{ secret: string; stale: boolean }> {
  const parsed = sealedKeyId(sealed);
  if (!parsed) throw unavailable("a sealed TOTP secret is in no known format");
  const keys = await totpKeys(env);
  const key = keys.find(parsed.keyId);
  if (!key) throw unavailable(`a TOTP secret is sealed under key "${parsed.keyId}", which TOTP_ENCRYPTION_KEY does not hold`);
  let pt: ArrayBuffer;
  try {
    pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64Url(parsed.iv), additionalData: encoder.encode(userId) }, key, fromBase64Url(parsed.ct));
  } catch {
    throw unavailable(`a TOTP secret does not open under key "${parsed.keyId}" (wrong key, or the row was altered)`);
  }
  return { secret: new TextDecoder().decode(pt), stale: sealed.startsWith("v1.") || parsed.keyId !== keys.current.id };
}
