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
 * A bare key (the single-key secrets deployments had before sets: base64url, or standard
 * padded base64 as the old code also decoded it) is accepted as a set of one key with the id LEGACY_KEY_ID, and so is anything made before ids
 * existed: when such a key is rotated, it stays in the set as `{"id":"k0","key":"<it>"}`.
 *
 * Parsing is synchronous and happens once, in parseConfig (src/config.ts), so a malformed
 * set is a ConfigError at startup naming the secret (never its value). CryptoKeys are
 * imported lazily, once per set and use (`importKeySet`).
 *
 * A new key-set secret: add it to KEY_SET_SECRETS (its key length, src/key-set-secrets.ts) and
 * GatehouseConfig.keys in src/config.ts, and to `[secrets] required` in wrangler.toml. Use it as
 *   const set = configuredKeySet(env, "mine");            // null: unset or malformed → 503
 *   const keys = await importKeySet(set, "mine-hmac", (bytes) => crypto.subtle.importKey(...));
 *   make:   `${keys.current.id}.${mac under keys.current.key}`
 *   check:  splitKeyId(text, 1) (null → refuse), keys.find(keyId) (null → refuse), verify.
 * Whatever must outlive a rotation is moved to the current key by src/key-rotation.ts.
 */
import { array, strictObject, string } from "zod";
import { fromBase64Url } from "./crypto";

/** The id of a bare (pre-set) key, and of whatever it made before ids were recorded. */
export const LEGACY_KEY_ID = "k0";

/** Ids are short and never contain `.` or `:`, so they can prefix a ciphertext or a MAC. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/**
 * What a bare (pre-set) key was decoded as (fromBase64Url, src/lib/crypto.ts): base64url,
 * or standard base64 with `+`, `/` and `=` padding (`openssl rand -base64 32`). Refusing it
 * now would take an upgraded deployment down; keys in a set are base64url only.
 */
const LEGACY_BARE_KEY = /^[A-Za-z0-9_+/-]+={0,2}$/;

/**
 * The one reading of "key id, then the fields made with that key": `<keyId>.<f1>…<fN>`,
 * where a text of just the N fields was made before ids existed and names LEGACY_KEY_ID
 * (`explicit` false). Null when malformed: another number of fields, an empty one, or an
 * id no key set could hold. Used by sealed TOTP secrets, device cookies and checkpoint
 * MACs; the SQL that groups or filters rows by key id (src/stepup/reseal.ts,
 * src/audit/checkpoint.ts, scripts/keys-status.mjs) follows this rule and says so.
 */
export function splitKeyId(text: string, fields: number): { keyId: string; explicit: boolean; fields: string[] } | null {
  const parts = text.split(".");
  if (parts.some((part) => part === "")) return null;
  if (parts.length === fields) return { keyId: LEGACY_KEY_ID, explicit: false, fields: parts };
  const [keyId, ...rest] = parts;
  if (parts.length === fields + 1 && keyId !== undefined && KEY_ID.test(keyId)) return { keyId, explicit: true, fields: rest };
  return null;
}

export type KeyEntry = { readonly id: string; readonly bytes: Uint8Array };

export type KeySet = {
  /** The key everything new is made with (the first of the secret). */
  readonly current: KeyEntry;
  /** Every key, current first. */
  readonly keys: readonly KeyEntry[];
};

export type KeyLength = { minBytes: number; maxBytes?: number };

function decodeKey(text: string, length: KeyLength, alphabet = BASE64URL): Uint8Array | string {
  if (!alphabet.test(text)) return "is not base64url";
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
    const bytes = decodeKey(text, length, LEGACY_BARE_KEY);
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
