#!/usr/bin/env node
/**
 * Writes an identity-assertion key set for ASSERTION_SIGNING_KEYS (private EC P-256 JWKs;
 * the first signs, all are published at /.well-known/jwks.json).
 *
 *   node scripts/assertion-keys.mjs                         a fresh set of one key
 *   node scripts/assertion-keys.mjs --rotate <json|file>    a new signing key first, the old ones kept
 *   add --dev-vars to print an ASSERTION_SIGNING_KEYS='...' line for .dev.vars
 *
 * Rotation: `wrangler secret put ASSERTION_SIGNING_KEYS` with the rotated set. The new key
 * signs at once; origins meet an unknown kid and refetch the JWKS (the reference verifier
 * does), while tokens from the old key, which stays published, still verify. Once the
 * longest assertion lifetime (60 s) plus the JWKS max-age (300 s) have passed, put the set
 * again without the old key. The JSON holds private keys: it is a secret, never committed.
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
  if (!arg) fail("--rotate needs the existing key set (JSON text or a file path)");
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
const rotateAt = args.indexOf("--rotate");
const devVars = args.includes("--dev-vars");
const unknown = args.filter((a, i) => a !== "--rotate" && a !== "--dev-vars" && !(rotateAt >= 0 && i === rotateAt + 1));
if (unknown.length) fail(`unknown argument ${unknown[0]} (use --rotate <json|file> and/or --dev-vars)`);

const existing = rotateAt >= 0 ? readExisting(args[rotateAt + 1]) : [];
const json = JSON.stringify({ keys: [await newKey(), ...existing] });
console.log(devVars ? `ASSERTION_SIGNING_KEYS='${json}'` : json);
