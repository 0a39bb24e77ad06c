/**
 * TOTP secrets at rest: AES-256-GCM with the TOTP_ENCRYPTION_KEY Worker secret.
 * The user id is bound as associated data, so a database writer cannot move one
 * user's encrypted secret onto another user's row. Format: `v1.<iv>.<ciphertext>`.
 */
import { ApiError } from "../errors";
import { fromBase64Url, randomBytes, toBase64Url } from "../lib/crypto";

const encoder = new TextEncoder();

async function importKey(keyB64url: string | undefined): Promise<CryptoKey> {
  const raw = keyB64url ? fromBase64Url(keyB64url) : new Uint8Array();
  if (raw.byteLength !== 32) {
    throw new ApiError(503, "MFA_UNAVAILABLE", "Two-factor authentication is not configured on this deployment");
  }
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function sealSecret(keyB64url: string | undefined, secret: string, userId: string): Promise<string> {
  const key = await importKey(keyB64url);
  const iv = randomBytes(12); // NIST SP 800-38D §8.2.2: 96-bit random IVs.
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(userId) }, key, encoder.encode(secret));
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

export async function openSecret(keyB64url: string | undefined, sealed: string, userId: string): Promise<string> {
  const [version, ivText, ctText] = sealed.split(".");
  if (version !== "v1" || !ivText || !ctText) throw new Error("Unknown sealed secret format");
  const key = await importKey(keyB64url);
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64Url(ivText), additionalData: encoder.encode(userId) },
    key,
    fromBase64Url(ctText),
  );
  return new TextDecoder().decode(pt);
}
