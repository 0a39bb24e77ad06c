/**
 * PRODUCT_API_TOKENS: the credentials of the product's HTTP API (./routes.ts), as parseConfig
 * (src/config.ts) validates them at startup, and the one check of a presented token.
 *
 * A JSON array or a comma list; each entry a token of at least 32 characters without
 * spaces (e.g. `openssl rand -base64 32`) or its SHA-256 as `sha256:<64 hex>`, so the
 * secret need not hold the token itself. Several at once while rotating: add the new one,
 * move the product to it, remove the old one. Without the secret the API does not exist.
 */
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";

export const MIN_PRODUCT_TOKEN_LENGTH = 32;
const MAX_PRODUCT_TOKENS = 10;
const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** Each configured credential: a token's SHA-256 (hex), or the token, hashed when compared. */
export type ProductCredential = { digest: string } | { token: string };

export class ProductTokensError extends Error {
  override readonly name = "ProductTokensError";
}

function entriesOf(text: string): unknown[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[")) return trimmed.split(",").map((entry) => entry.trim());
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // Reported below.
  }
  throw new ProductTokensError("PRODUCT_API_TOKENS must be a JSON array of strings or a comma list");
}

/** The configured credentials, or null when unset (problems name the entry's position, never its value). */
export function productCredentialsConfig(env: { PRODUCT_API_TOKENS?: string }): ProductCredential[] | null {
  if (!env.PRODUCT_API_TOKENS?.trim()) return null;
  const entries = entriesOf(env.PRODUCT_API_TOKENS);
  if (entries.length > MAX_PRODUCT_TOKENS) throw new ProductTokensError(`PRODUCT_API_TOKENS holds at most ${MAX_PRODUCT_TOKENS} entries`);
  return entries.map((entry, index) => {
    if (typeof entry !== "string") throw new ProductTokensError(`PRODUCT_API_TOKENS entry ${index + 1} is not a string`);
    const digest = DIGEST.exec(entry);
    if (digest?.[1]) return { digest: digest[1] };
    if (entry.length < MIN_PRODUCT_TOKEN_LENGTH || /\s/.test(entry) || entry.startsWith("sha256:")) {
      throw new ProductTokensError(
        `PRODUCT_API_TOKENS entry ${index + 1} must be a token of at least ${MIN_PRODUCT_TOKEN_LENGTH} characters with no spaces (e.g. openssl rand -base64 32) or sha256:<64 lower-case hex>`,
      );
    }
    return { token: entry };
  });
}

/**
 * Whether `presented` is one of the credentials: SHA-256 digests compared in constant time,
 * every credential each time, so neither which one matched, nor a length or a prefix, shows
 * in the timing.
 */
export async function isProductCredential(presented: string, credentials: readonly ProductCredential[]): Promise<boolean> {
  if (presented === "") return false;
  const digest = await sha256Hex(presented);
  let matched = false;
  for (const credential of credentials) {
    const expected = "digest" in credential ? credential.digest : await sha256Hex(credential.token);
    if (timingSafeEqualString(digest, expected)) matched = true;
  }
  return matched;
}
