// The offline check of Gatehouse's audit archive (the NDJSON objects retention writes to
// the AUDIT_ARCHIVE R2 bucket, format in src/audit/archive.ts), and of the archived chain
// against the anchors written to the AUDIT_ANCHORS bucket (src/audit/anchors.ts). Plain JavaScript on
// WebCrypto only, independent of the worker's code, so it can be handed to an auditor
// as it is; test/audit-archive.test.ts and test/audit-archive-leftovers.test.ts run it
// against archives the worker wrote.
// The command line around it is scripts/verify-archive.mjs.

export const ARCHIVE_FORMAT = "gatehouse-audit-archive";
export const ANCHOR_FORMAT = "gatehouse-audit-anchor";
export const GENESIS_HASH = "0".repeat(64);
const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

/** JSON with object keys sorted at every depth (the worker's canonicalJson). */
export function canonicalJson(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** SHA-256(prevHash ‖ canonical JSON of the row without its link fields), hex. */
async function rowHash(prevHash, row) {
  const { prevHash: _prev, hash: _hash, ...fields } = row;
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(prevHash + canonicalJson(fields))));
}

// A MAC written before key ids existed (a bare `<mac>`) names this id. Deliberately its own
// copy of the worker's rule (splitKeyId in src/lib/key-set.ts): `<keyId>.<mac>` or `<mac>`.
const LEGACY_KEY_ID = "k0";

/**
 * AUDIT_CHECKPOINT_KEY as the worker holds it: a bare base64url key (32 or more bytes,
 * id "k0") or a key set, a JSON array of `{ "id", "key" }`. Answers a Map from key id to
 * an HMAC-SHA-256 verification key.
 */
export async function importCheckpointKeys(secret) {
  const text = secret.trim();
  const entries = text.startsWith("[") ? JSON.parse(text).map(({ id, key }) => [id, key]) : [[LEGACY_KEY_ID, text]];
  const keys = new Map();
  for (const [id, base64url] of entries) {
    const bytes = fromBase64Url(String(base64url));
    if (bytes.byteLength < 32) throw new Error(`AUDIT_CHECKPOINT_KEY: key ${id} must be at least 32 bytes (base64url)`);
    keys.set(String(id), await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]));
  }
  return keys;
}

/** Whether the checkpoint's `<keyId>.<mac>` (or legacy bare `<mac>`) verifies under the key it names. */
function checkpointMacValid(keys, cp) {
  return macValid(keys, cp.mac, canonicalJson({ v: 1, tenantId: cp.tenantId, seq: cp.seq, hash: cp.hash, prunedAt: cp.prunedAt, lastCreatedAt: cp.lastCreatedAt, retentionDays: cp.retentionDays }));
}

/** Whether an anchor's MAC verifies (src/audit/anchors.ts: every field but the MAC, with its purpose). */
function anchorMacValid(keys, a) {
  return macValid(keys, a.mac, canonicalJson({ purpose: ANCHOR_FORMAT, v: 1, tenantId: a.tenantId, seq: a.seq, hash: a.hash, anchoredAt: a.anchoredAt, source: a.source }));
}

/** The key id and MAC text of `<keyId>.<mac>` (or a legacy bare `<mac>`); an empty array when malformed. */
function splitMac(macField) {
  const parts = String(macField).split(".");
  return parts.length === 1 ? [LEGACY_KEY_ID, parts[0]] : parts.length === 2 ? parts : [];
}

/** Whether `mac` (`<keyId>.<mac>` or a legacy bare `<mac>`) is the HMAC of `signed` under the key it names. */
async function macValid(keys, macField, signed) {
  const [keyId, macText] = splitMac(macField);
  const key = keyId === undefined ? undefined : keys.get(keyId);
  if (!key || !macText) return false;
  try {
    return await crypto.subtle.verify("HMAC", key, fromBase64Url(macText), encoder.encode(signed));
  } catch {
    return false;
  }
}

const fail = (reason, detail, extra = {}) => ({ ok: false, reason, detail, ...extra });

/**
 * Checks one archive object: its rows link and hash from `prevHash`, the last one is
 * the checkpoint's row, and (given the key) the checkpoint's MAC is the worker's and it
 * covers only rows that were past retention when it was written. Answers
 * `{ ok: true, tenantId, fromSeq, toSeq, prevHash, lastHash, rows, macChecked }` or
 * `{ ok: false, reason, detail, seq? }`.
 */
export async function checkArchive(text, key = null) {
  const { hashes: _hashes, ...result } = await checkObject(text, key);
  return result;
}

/** checkArchive, with the rows' hashes in seq order (`hashes`) when the object verifies. */
async function checkObject(text, key) {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  let header;
  let rows;
  try {
    [header, ...rows] = lines.map((line) => JSON.parse(line));
  } catch (err) {
    return fail("MALFORMED", `a line is not JSON (${err.message})`);
  }
  if (header?.format !== ARCHIVE_FORMAT || header.version !== 1 || typeof header.checkpoint !== "object" || header.checkpoint === null) {
    return fail("MALFORMED", "the first line is not a version 1 gatehouse-audit-archive header");
  }
  const cp = header.checkpoint;
  if (rows.length !== header.rows || rows.length === 0) return fail("COUNT", `the header announces ${header.rows} rows, the object holds ${rows.length}`);
  let prev = { seq: header.fromSeq - 1, hash: header.prevHash };
  const hashes = [];
  for (const row of rows) {
    if (row.tenantId !== header.tenantId) return fail("TENANT", `row ${row.seq} belongs to another tenant`, { seq: row.seq });
    if (row.seq !== prev.seq + 1) return fail("GAP", `row ${prev.seq + 1} is missing`, { seq: prev.seq + 1 });
    if (row.prevHash !== prev.hash) return fail("LINK", `row ${row.seq} does not link to its predecessor`, { seq: row.seq });
    if ((await rowHash(prev.hash, row)) !== row.hash) return fail("HASH", `row ${row.seq} does not match its hash (edited)`, { seq: row.seq });
    prev = { seq: row.seq, hash: row.hash };
    hashes.push(row.hash);
  }
  if (prev.seq !== header.toSeq || cp.seq !== prev.seq || cp.hash !== prev.hash || cp.tenantId !== header.tenantId) {
    return fail("CHECKPOINT_MISMATCH", "the checkpoint does not name the last row (seq and hash)", { seq: prev.seq });
  }
  if (key) {
    if (!(await checkpointMacValid(key, cp))) return fail("CHECKPOINT_UNAUTHENTIC", "the checkpoint's MAC does not verify under the key it names", { seq: cp.seq });
    const windowStart = cp.prunedAt - cp.retentionDays * DAY_MS;
    const young = rows.find((row) => row.createdAt >= windowStart);
    if (cp.lastCreatedAt >= windowStart || young) return fail("CHECKPOINT_TOO_RECENT", "the archive holds rows younger than the retention window", { seq: young?.seq ?? cp.seq });
  }
  return { ok: true, tenantId: header.tenantId, fromSeq: header.fromSeq, toSeq: header.toSeq, prevHash: header.prevHash, lastHash: prev.hash, rows: rows.length, macChecked: key !== null, hashes };
}

const missing = (from, to) => (from === to ? `row ${from} is in no archive given` : `rows ${from}…${to} are in no archive given`);

/**
 * Checks a tenant's archive objects (in any order): each on its own, then that together
 * they hold one chain: in seq order each object links to the row before its first (its
 * prevHash is that row's hash, or the genesis for seq 1) and no seq is missing. The first
 * may start after seq 1 only when `allowLaterStart`.
 *
 * Objects may overlap: a prune whose delete failed after its write leaves an object that a
 * later run's longer or shorter one from the same seq covers in part (retention removes
 * such objects, but one may remain), and a D1 restore can have rows archived twice. An
 * overlapping object that holds the same rows (every hash at a seq it shares with another
 * object is the same) is no gap and no break: it is named in `overlapping` (its index in
 * `texts`). One that holds other rows at a seq is a FORK there.
 */
export async function checkArchives(texts, key = null, { allowLaterStart = false, anchors = null } = {}) {
  const objects = [];
  for (const [index, text] of texts.entries()) {
    const result = await checkObject(text, key);
    if (!result.ok) return { ok: false, index, ...result };
    objects.push({ ...result, index });
  }
  // Seq order; from one seq the longest first, so the shorter ones are the overlapping ones.
  objects.sort((a, b) => a.fromSeq - b.fromSeq || b.toSeq - a.toSeq);
  const first = objects[0];
  if (!first) return fail("EMPTY", "no archive given");
  const other = objects.find((o) => o.tenantId !== first.tenantId);
  if (other) return fail("TENANT", "archives of several tenants were given together", { index: other.index });
  if (!allowLaterStart && (first.fromSeq !== 1 || first.prevHash !== GENESIS_HASH)) {
    return fail("GAP", "the first archive does not start the chain (seq 1 from the genesis)", { seq: 1, index: first.index });
  }
  // The hash of every row seen so far, by seq, from the row before the first object.
  const chain = new Map([[first.fromSeq - 1, first.prevHash]]);
  let head = first.fromSeq - 1;
  const overlapping = [];
  for (const object of objects) {
    const { fromSeq, index } = object;
    if (fromSeq > head + 1) return fail("GAP", missing(head + 1, fromSeq - 1), { seq: head + 1, index });
    if (chain.get(fromSeq - 1) !== object.prevHash) return fail("LINK", `the archive from seq ${fromSeq} does not link to row ${fromSeq - 1} of the archives before it`, { seq: fromSeq, index });
    for (const [i, hash] of object.hashes.entries()) {
      const seq = fromSeq + i;
      const seen = chain.get(seq);
      if (seen !== undefined && seen !== hash) return fail("FORK", `two archives hold different rows at seq ${seq}`, { seq, index });
      chain.set(seq, hash);
    }
    if (fromSeq <= head) overlapping.push(index);
    head = Math.max(head, object.toSeq);
  }
  const anchored = anchors === null ? null : await compareAnchors(chain, first.fromSeq - 1, head, first.tenantId, anchors, key);
  if (anchored !== null && !anchored.ok) return anchored;
  return { ok: true, tenantId: first.tenantId, fromSeq: first.fromSeq, toSeq: head, lastHash: chain.get(head), objects: objects.length, rows: head - first.fromSeq + 1, overlapping, macChecked: key !== null, ...(anchored && { anchors: anchored.anchors }) };
}

const isAnchor = (a) =>
  a !== null && typeof a === "object" && a.format === ANCHOR_FORMAT && a.version === 1 && typeof a.tenantId === "string" && Number.isSafeInteger(a.seq) &&
  typeof a.hash === "string" && Number.isSafeInteger(a.anchoredAt) && (a.source === "head" || a.source === "checkpoint") && typeof a.mac === "string";

/**
 * Compares the archived chain (`chain`: hash by seq, from `fromSeq` to `toSeq`) with the
 * tenant's anchors (records as src/audit/anchors.ts writes them; other tenants' are
 * ignored). Each one is checked in seq order: it must be a well-formed record and, given
 * the key, carry the worker's MAC (else ANCHOR_UNAUTHENTIC: a forged anchor is trusted
 * for nothing; one whose MAC names a key the set given does not hold is counted in
 * `retiredKey` and trusted for nothing either, as the worker does), and name the hash the archives hold at its seq (else ANCHOR_MISMATCH, at
 * the first anchored seq that no longer matches). Anchors past the archives cover rows
 * still in the live chain (the worker's verification compares those) and are counted.
 */
async function compareAnchors(chain, fromSeq, toSeq, tenantId, anchors, key) {
  const own = anchors.filter((a) => a?.tenantId === tenantId).sort((a, b) => a.seq - b.seq);
  const result = { checked: 0, pastArchives: 0, beforeArchives: 0, retiredKey: 0, matchedThroughSeq: null, macChecked: key !== null };
  for (const anchor of own) {
    if (!isAnchor(anchor)) return fail("ANCHOR_UNAUTHENTIC", "an anchor of this tenant is not a version 1 gatehouse-audit-anchor record", { seq: anchor.seq });
    if (key && !key.has(splitMac(anchor.mac)[0])) {
      result.retiredKey++;
      continue;
    }
    if (key && !(await anchorMacValid(key, anchor))) return fail("ANCHOR_UNAUTHENTIC", `the anchor at seq ${anchor.seq} does not carry the worker's MAC (forged): not trusted`, { seq: anchor.seq });
    if (anchor.seq > toSeq) result.pastArchives++;
    else if (anchor.seq < fromSeq) result.beforeArchives++;
    else if (chain.get(anchor.seq) !== anchor.hash) {
      return fail("ANCHOR_MISMATCH", `the archived row at seq ${anchor.seq} is not the one anchored: a row after seq ${result.matchedThroughSeq ?? fromSeq}, up to this one, was rewritten`, { seq: anchor.seq });
    } else {
      result.checked++;
      result.matchedThroughSeq = anchor.seq;
    }
  }
  return { ok: true, anchors: result };
}
