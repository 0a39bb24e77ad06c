/**
 * The secrets that hold a key set (src/lib/key-set.ts), with the key length each use needs.
 * parseConfig (src/config.ts) validates them at startup; `npm run keys` (scripts/keys.mjs)
 * makes and rotates them by the same lengths.
 */
import type { KeyLength } from "./lib/key-set";

export const KEY_SET_SECRETS = {
  TOTP_ENCRYPTION_KEY: { minBytes: 32, maxBytes: 32 }, // AES-256-GCM (and HKDF for device cookies)
  AUDIT_CHECKPOINT_KEY: { minBytes: 32 }, // HMAC-SHA-256
  SESSION_SNAPSHOT_KEYS: { minBytes: 32 }, // HMAC-SHA-256 of session snapshots (src/sessions/snapshot.ts)
} satisfies Record<string, KeyLength>;

export type KeySetSecret = keyof typeof KEY_SET_SECRETS;
