/**
 * Session snapshots: what the edge check needs about a session, carried by the client in a
 * second cookie and authenticated with an HMAC-SHA-256 under a rotatable Worker secret
 * (SESSION_SNAPSHOT_KEYS, a key set: src/lib/key-set.ts). A valid, fresh snapshot lets a
 * request pass without a per-session KV read; the tenant's edge document
 * (src/edge-document/, fingerprints from src/edge-document/staleness.ts) says which
 * snapshots a change has made stale (docs/consistency.md).
 *
 * Threat model: the client can send any bytes. A snapshot whose MAC does not verify under
 * a key of the set, that names another session than the session cookie, whose token hash
 * does not match the cookie's secret, that is older than SNAPSHOT_MAX_AGE_MS or whose state
 * was read from D1 before the cache was last rebuilt (after a D1 restore) is simply not
 * used: the request takes the authoritative path (KV, D1 on a miss), exactly as without a
 * snapshot. So a snapshot can only ever speed up an answer the server already
 * gave; it never admits a request the per-session state would refuse, except for a change
 * the edge document missed (lost write race), which SNAPSHOT_MAX_AGE_MS bounds as the
 * per-session KV entries' TTL always bounded it. Whoever holds the MAC key can forge
 * snapshots (docs/sessions.md, threat model); step-up routes re-read D1 and are not affected.
 */
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { type KeySet, importKeySet } from "../lib/key-set";
import { type AuthState, CACHE_TTL_SECONDS } from "./cache";

/** Hono adds the `__Host-` prefix, as for the session cookie. */
export const SNAPSHOT_COOKIE = "gatehouse_snapshot";

/**
 * A snapshot is trusted for at most this long after its state was read from D1: the same
 * bound the per-session KV entries have on a lost write race (CACHE_TTL_SECONDS).
 */
export const SNAPSHOT_MAX_AGE_MS = CACHE_TTL_SECONDS * 1000;

/** The fingerprints of the state a snapshot carries, compared with the tenant's edge document. */
export type Fingerprints = { user: string; session: string };

export type Snapshot = { state: AuthState & { readAt: number }; fingerprints: Fingerprints };

const FORMAT = "s1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const hmacKeys = (set: KeySet) =>
  importKeySet(set, "session-snapshot-hmac", (bytes) =>
    crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
  );

/** What the MAC covers: the format, the key id and the payload, so none can be swapped. */
const signed = (kid: string, payload: string) => encoder.encode(`${FORMAT}.${kid}.${payload}`);

/** The cookie value: `<kid>.<payload>.<mac>`, all base64url except the id. */
export async function sealSnapshot(set: KeySet, snapshot: Snapshot): Promise<string> {
  const keys = await hmacKeys(set);
  const payload = toBase64Url(encoder.encode(JSON.stringify(snapshot)));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", keys.current.key, signed(keys.current.id, payload)));
  return `${keys.current.id}.${payload}.${toBase64Url(mac)}`;
}

const MAX_COOKIE_CHARS = 3800;

/**
 * The snapshot a cookie value carries, when its MAC verifies under the key it names (the
 * current key or a previous one still in the set); null for anything else.
 */
export async function openSnapshot(set: KeySet, value: string | undefined): Promise<Snapshot | null> {
  if (!value || value.length > MAX_COOKIE_CHARS) return null;
  const [kid, payload, mac, extra] = value.split(".");
  if (!kid || !payload || !mac || extra !== undefined) return null;
  const keys = await hmacKeys(set);
  const key = keys.find(kid);
  if (!key) return null;
  let macBytes: Uint8Array;
  let json: unknown;
  try {
    macBytes = fromBase64Url(mac);
    // crypto.subtle.verify compares in constant time.
    if (!(await crypto.subtle.verify("HMAC", key, macBytes, signed(kid, payload)))) return null;
    json = JSON.parse(decoder.decode(fromBase64Url(payload)));
  } catch {
    return null;
  }
  return isSnapshot(json) ? json : null;
}

/** Shape check of a payload we signed ourselves (an older format is not trusted). */
function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== "object" || value === null) return false;
  const { state, fingerprints } = value as Partial<Snapshot>;
  return (
    typeof state === "object" &&
    state !== null &&
    typeof state.readAt === "number" &&
    typeof state.session === "object" &&
    typeof state.user === "object" &&
    typeof fingerprints === "object" &&
    fingerprints !== null &&
    typeof fingerprints.user === "string" &&
    typeof fingerprints.session === "string"
  );
}
