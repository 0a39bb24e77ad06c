// What each secret of `npm run keys` holds, read and written by the Worker's own parsers
// (the rule's owners): a key set (src/lib/key-set.ts, lengths in src/key-set-secrets.ts),
// the identity assertion's JWK set (src/gateway/assertion-keys.ts), the product API's token
// digests (src/product-api/credentials.ts) and the single values (src/operator/token-config.ts,
// src/email/config.ts). A kind turns the secret's text into entries (current first, each
// with an id that names no key material) and back, and makes a new entry.
import { exportJWK, generateKeyPair } from "jose";
import { parseAssertionKeys } from "../../src/gateway/assertion-keys.ts";
import { KEY_SET_SECRETS } from "../../src/key-set-secrets.ts";
import { operatorTokenConfig } from "../../src/operator/token-config.ts";
import { productCredentialsConfig } from "../../src/product-api/credentials.ts";
import { emailWebhookConfig } from "../../src/email/config.ts";
import { randomBytes, sha256Hex, toBase64Url, toHex } from "../../src/lib/crypto.ts";
import { parseKeySet } from "../../src/lib/key-set.ts";

/** A refusal the command reports as it is: it never quotes the secret. */
export class KeysError extends Error {}

/** `2026-12-07-3fa9c1d2`: when the key was made, and 32 random bits so two on a day differ. */
export const newKeyId = (now) => `${now.toISOString().slice(0, 10)}-${toHex(randomBytes(4))}`;
const randomKey = () => toBase64Url(randomBytes(32));

function keySetKind(name) {
  const length = KEY_SET_SECRETS[name];
  return {
    rotates: true,
    parse(text) {
      const parsed = parseKeySet(text, length);
      if (!parsed.ok) throw new KeysError(`${name} is not a key set the Worker accepts: ${parsed.problems.join("; ")}`);
      // A bare key becomes the entry the set keeps it as (src/lib/key-set.ts: LEGACY_KEY_ID).
      return parsed.set.keys.map(({ id, bytes }) => ({ id, value: { id, key: toBase64Url(bytes) } }));
    },
    serialize: (entries) => JSON.stringify(entries.map((entry) => entry.value)),
    async make(now) {
      const id = newKeyId(now);
      return { entry: { id, value: { id, key: randomKey() } } };
    },
    check(text) {
      this.parse(text);
    },
  };
}

const assertionKind = {
  rotates: true,
  parse(text) {
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeysError("ASSERTION_SIGNING_KEYS is not JSON");
    }
    if (!Array.isArray(json?.keys)) throw new KeysError('ASSERTION_SIGNING_KEYS has no "keys" list');
    return json.keys.map((jwk) => ({ id: String(jwk?.kid), value: jwk }));
  },
  serialize: (entries) => JSON.stringify({ keys: entries.map((entry) => entry.value) }),
  async make(now) {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const { kty, crv, x, y, d } = await exportJWK(privateKey);
    const kid = newKeyId(now);
    return { entry: { id: kid, value: { kty, crv, x, y, d, kid, alg: "ES256", use: "sig" } } };
  },
  async check(text) {
    try {
      await parseAssertionKeys(text);
    } catch (error) {
      throw new KeysError(`ASSERTION_SIGNING_KEYS is not a key set the Worker accepts: ${error.message}`);
    }
  },
};

/** A token's entry is named by the start of its digest: enough to tell them apart, nothing to use. */
const tokenId = (digest) => `sha256:${digest.slice(0, 12)}`;

const productTokensKind = {
  rotates: true,
  // Every entry is current: a token is accepted or not, none signs; `promote` has no meaning.
  unordered: true,
  /** The token itself goes to the product (--token-file), never into this secret or a terminal. */
  needsTokenFile: true,
  async parse(text) {
    let credentials;
    try {
      credentials = productCredentialsConfig({ PRODUCT_API_TOKENS: text });
    } catch (error) {
      throw new KeysError(`PRODUCT_API_TOKENS is not a list the Worker accepts: ${error.message}`);
    }
    return Promise.all(
      (credentials ?? []).map(async (credential) => {
        const digest = "digest" in credential ? credential.digest : await sha256Hex(credential.token);
        return { id: tokenId(digest), value: `sha256:${digest}` };
      }),
    );
  },
  serialize: (entries) => JSON.stringify(entries.map((entry) => entry.value)),
  async make() {
    const token = randomKey();
    const digest = await sha256Hex(token);
    return { entry: { id: tokenId(digest), value: `sha256:${digest}` }, token };
  },
  async check(text) {
    await this.parse(text);
  },
};

function singleKind(name, check) {
  return {
    rotates: false,
    parse() {
      throw new KeysError(`${name} is a single value, not a set: make a new one (\`new ${name}\`), put it and give it to its caller at the same time`);
    },
    serialize: ([entry]) => entry.value,
    async make(now) {
      return { entry: { id: newKeyId(now), value: randomKey() } };
    },
    check(text) {
      check(text);
    },
  };
}

export const KINDS = {
  TOTP_ENCRYPTION_KEY: keySetKind("TOTP_ENCRYPTION_KEY"),
  AUDIT_CHECKPOINT_KEY: keySetKind("AUDIT_CHECKPOINT_KEY"),
  SESSION_SNAPSHOT_KEYS: keySetKind("SESSION_SNAPSHOT_KEYS"),
  ASSERTION_SIGNING_KEYS: assertionKind,
  PRODUCT_API_TOKENS: productTokensKind,
  OPERATOR_TOKEN: singleKind("OPERATOR_TOKEN", (text) => operatorTokenConfig({ OPERATOR_TOKEN: text })),
  // Checked as the Worker checks it once a hook is configured (any https URL stands in for it).
  EMAIL_WEBHOOK_SECRET: singleKind("EMAIL_WEBHOOK_SECRET", (text) => emailWebhookConfig({ EMAIL_WEBHOOK_URL: "https://hook.invalid/", EMAIL_WEBHOOK_SECRET: text })),
};
