/**
 * Rotatable symmetric keys. A key-set secret holds one or more keys, each with an id:
 *
 *   [{"id":"k2","key":"<base64url>"},{"id":"k1","key":"<base64url>"}]
 *
 * The first key is CURRENT: it seals and signs everything new. The others are PREVIOUS:
 * still accepted to open and verify what was made under them while the deployment moves
 * over (the overlap), never used to make anything new. Whatever a key makes carries its
 * id, so the right key is picked without trial and error, and an id not in the set is
 * refused (fail closed), like a wrong key.
 *
 * A bare base64url key (the single-key secrets deployments had before sets) is accepted
 * as a set of one key with the id LEGACY_KEY_ID, and so is anything made before ids
 * existed: when such a key is rotated, it stays in the set as `{"id":"k0","key":"<it>"}`.
 *
 * Parsing is synchronous and happens once, in parseConfig (src/config.ts), so a malformed
 * set is a ConfigError at startup naming the secret (never its value). CryptoKeys are
 * imported lazily, once per set and use (`importKeySet`).
 *
 * A new key-set secret: add it to KEY_SET_SECRETS (its key length) and GatehouseConfig.keys
 * in src/config.ts, and to `[secrets] required` in wrangler.toml. Use it as
 *   const set = configuredKeySet(env, "mine");            // null: unset or malformed → 503
 *   const keys = await importKeySet(set, "mine-hmac", (bytes) => crypto.subtle.importKey(...));
 *   make:   `${keys.current.id}.${mac under keys.current.key}`
 *   check:  split off the id, keys.find(id) (null → refuse), verify with that key.
 * Whatever must outlive a rotation is moved to the current key by src/key-rotation.ts.
 */
import { array, strictObject, string } from "zod";
import { fromBase64Url } from "./crypto";

/** The id of a bare (pre-set) key, and of whatever it made before ids were recorded. */
export const LEGACY_KEY_ID = "k0";

/** Ids are short and never contain `.` or `:`, so they can prefix a ciphertext or a MAC. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type KeyEntry = { readonly id: string; readonly bytes: Uint8Array };

export type KeySet = {
  /** The key everything new is made with (the first of the secret). */
  readonly current: KeyEntry;
  /** Every key, current first. */
  readonly keys: readonly KeyEntry[];
};

export type KeyLength = { minBytes: number; maxBytes?: number };

function decodeKey(text: string, length: KeyLength): Uint8Array | string {
  if (!BASE64URL.test(text)) return "is not base64url";
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    return "is not base64url";
  }
  const { minBytes, maxBytes } = length;
  if (bytes.byteLength < minBytes || (maxBytes !== undefined && bytes.byteLength > maxBytes)) {
    return maxBytes === minBytes ? `must be ${minBytes} bytes (got ${bytes.byteLength})` : `must be at least ${minBytes} bytes (got ${bytes.byteLength})`;
  }
  return bytes;
}

const entries = array(strictObject({ id: string().regex(KEY_ID, "must be 1-32 characters of A-Z, a-z, 0-9, _ or -"), key: string() }))
  .min(1, "must hold at least one key")
  .refine((list) => new Set(list.map((e) => e.id)).size === list.length, "key ids must be unique");

/**
 * The key set a secret holds, or a list of problems. The problems never quote the secret:
 * they name the position and id of the offending key only.
 */
export function parseKeySet(raw: string, length: KeyLength): { ok: true; set: KeySet } | { ok: false; problems: string[] } {
  const text = raw.trim();
  if (!text.startsWith("[")) {
    const bytes = decodeKey(text, length);
    if (typeof bytes === "string") return { ok: false, problems: [`(a single key) ${bytes}`] };
    const only = { id: LEGACY_KEY_ID, bytes };
    return { ok: true, set: { current: only, keys: [only] } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problems: ["is neither a base64url key nor a JSON array of {id, key}"] };
  }
  const parsed = entries.safeParse(json);
  if (!parsed.success) {
    // zod's messages name paths and rules; none includes the input (the keys).
    return { ok: false, problems: parsed.error.issues.map((i) => (i.path.length ? `[${i.path.join(".")}] ${i.message}` : i.message)) };
  }
  const problems: string[] = [];
  const keys: KeyEntry[] = [];
  parsed.data.forEach(({ id, key }, index) => {
    const bytes = decodeKey(key, length);
    if (typeof bytes === "string") problems.push(`[${index}] key "${id}" ${bytes}`);
    else keys.push({ id, bytes });
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, set: { current: keys[0] as KeyEntry, keys } };
}

/** A key set with its keys imported for one use (AES-GCM, HMAC, an HKDF-derived key, ...). */
export type ImportedKeySet = {
  current: { id: string; key: CryptoKey };
  /** The imported key with this id, or null when the set has no such key (refuse). */
  find(id: string): CryptoKey | null;
};

const imported = new WeakMap<KeySet, Map<string, Promise<ImportedKeySet>>>();

/**
 * Imports every key of `set` with `importKey`, once per set and `use` (a label naming
 * what the keys are for, e.g. "totp-aes-gcm"); later calls share the promise.
 */
export function importKeySet(set: KeySet, use: string, importKey: (bytes: Uint8Array) => Promise<CryptoKey>): Promise<ImportedKeySet> {
  let byUse = imported.get(set);
  if (!byUse) imported.set(set, (byUse = new Map()));
  let found = byUse.get(use);
  if (!found) {
    found = Promise.all(set.keys.map(async (k) => [k.id, await importKey(k.bytes)] as const)).then((pairs) => {
      const byId = new Map(pairs);
      return { current: { id: set.current.id, key: byId.get(set.current.id) as CryptoKey }, find: (id) => byId.get(id) ?? null };
    });
    // A failed import is not cached: the next call tries again.
    found.catch(() => byUse.delete(use));
    byUse.set(use, found);
  }
  return found;
}
