#!/usr/bin/env node
/**
 * Writes an identity-assertion key set for ASSERTION_SIGNING_KEYS (private EC P-256 JWKs;
 * the first signs, all are published at /.well-known/jwks.json).
 *
 *   node scripts/assertion-keys.mjs                         a fresh set of one key
 *   node scripts/assertion-keys.mjs --publish <json|file>   a new key added last: published, not yet signing
 *   node scripts/assertion-keys.mjs --promote <json|file>   the last key moved first: it signs from now on
 *   add --dev-vars to print an ASSERTION_SIGNING_KEYS='...' line for .dev.vars
 *
 * Rotation without downtime, each step a `wrangler secret put ASSERTION_SIGNING_KEYS`:
 *   1. --publish: the new key is published (JWKS) while the old one still signs.
 *   2. after 6 minutes (the JWKS's 300 s max-age plus margin: every origin has fetched
 *      the new key; jose also refuses to refetch within 30 s of a fetch, so a key that
 *      signed before it was published would fail there), --promote: the new key signs.
 *   3. after 2 more minutes (the 60 s assertion lifetime plus margin), put the set again
 *      without the old key (delete its entry).
 * The JSON holds private keys: it is a secret, never committed.
 */
import { readFileSync } from "node:fs";
import { exportJWK, generateKeyPair } from "jose";

function fail(message) {
  console.error(`assertion-keys: ${message}`);
  process.exit(1);
}

async function newKey() {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  const date = new Date().toISOString().slice(0, 10);
  const suffix = Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex");
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, kid: `${date}-${suffix}`, alg: "ES256", use: "sig" };
}

function readExisting(arg) {
  if (!arg) fail("--publish and --promote need the existing key set (JSON text or a file path)");
  const text = arg.trim().startsWith("{") ? arg : readFileSync(arg, "utf8");
  let set;
  try {
    set = JSON.parse(text);
  } catch {
    fail("the existing key set is not JSON");
  }
  if (!set || !Array.isArray(set.keys) || set.keys.length === 0) fail('the existing key set has no "keys"');
  for (const [i, key] of set.keys.entries()) {
    if (key.kty !== "EC" || key.crv !== "P-256" || typeof key.kid !== "string" || !key.kid) fail(`keys[${i}] is not an EC P-256 JWK with a kid`);
  }
  return set.keys;
}

const args = process.argv.slice(2);
const publishAt = args.indexOf("--publish");
const devVars = args.includes("--dev-vars");
const promoteAt = args.indexOf("--promote");
if (publishAt >= 0 && promoteAt >= 0) fail("use --publish or --promote, not both");
const setAt = publishAt >= 0 ? publishAt : promoteAt;
const unknown = args.filter((a, i) => a !== "--publish" && a !== "--promote" && a !== "--dev-vars" && !(setAt >= 0 && i === setAt + 1));
if (unknown.length) fail(`unknown argument ${unknown[0]} (use --publish <json|file>, --promote <json|file> and/or --dev-vars)`);

let keys;
if (promoteAt >= 0) {
  const existing = readExisting(args[promoteAt + 1]);
  if (existing.length < 2) fail("--promote needs a set of at least two keys (publish the new one first)");
  keys = [existing[existing.length - 1], ...existing.slice(0, -1)];
} else {
  keys = publishAt >= 0 ? [...readExisting(args[publishAt + 1]), await newKey()] : [await newKey()];
}
const json = JSON.stringify({ keys });
console.log(devVars ? `ASSERTION_SIGNING_KEYS='${json}'` : json);
