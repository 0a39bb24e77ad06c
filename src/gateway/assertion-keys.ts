/**
 * The identity assertion's signing keys, from the secret `ASSERTION_SIGNING_KEYS`:
 * a JWK set `{ "keys": [ ...private EC P-256 JWKs, each with a kid ] }`. The first key
 * signs; every key is published (public parts only) so origins keep verifying tokens
 * signed by a key that is being rotated out. `npm run keys` (scripts/keys.mjs) writes one.
 *
 * Fail closed: a missing or malformed set throws AssertionKeysError, which the caller
 * answers with 503 (a request is never forwarded unsigned).
 */
import { importJWK } from "jose";
import { array, literal, object, optional, string, type ZodError } from "zod";

export const ASSERTION_ALG = "ES256";

export type PublicAssertionJwk = { kty: "EC"; crv: "P-256"; x: string; y: string; kid: string; alg: "ES256"; use: "sig" };
export type PublicJwks = { keys: PublicAssertionJwk[] };

export type AssertionKeys = {
  /** The private key of the first JWK (non-extractable). */
  signingKey: CryptoKey;
  kid: string;
  /** What `/.well-known/jwks.json` serves. */
  publicJwks: PublicJwks;
};

/** The key set is missing or unusable; the caller answers 503, never forwards unsigned. */
export class AssertionKeysError extends Error {
  readonly code = "ASSERTION_KEYS_UNAVAILABLE";
  // A plain field, not a parameter property: `npm run keys` runs this file in Node, which strips types only.
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`ASSERTION_SIGNING_KEYS is unusable: ${problems.join("; ")}`);
    this.name = "AssertionKeysError";
    this.problems = problems;
  }
}

// A P-256 coordinate or private scalar is 32 bytes: 43 base64url characters.
const coordinate = string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes of base64url");

const jwkSchema = object({
  kty: literal("EC", { error: "kty must be EC" }),
  crv: literal("P-256", { error: "crv must be P-256" }),
  x: coordinate,
  y: coordinate,
  d: optional(coordinate),
  kid: string({ error: "kid is missing" }).min(1, "kid is empty").max(128, "kid is over 128 characters"),
  alg: optional(literal(ASSERTION_ALG, { error: "alg must be ES256 when given" })),
  use: optional(literal("sig", { error: "use must be sig when given" })),
});

const setSchema = object({ keys: array(jwkSchema).min(1, "no keys").max(10, "more than 10 keys") }).superRefine((set, ctx) => {
  const seen = new Set<string>();
  set.keys.forEach((key, index) => {
    if (seen.has(key.kid)) ctx.addIssue({ code: "custom", path: ["keys", index, "kid"], message: `duplicate kid "${key.kid}"` });
    seen.add(key.kid);
  });
});

function listProblems(error: ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`);
}

/** Parses and imports a key set; throws AssertionKeysError listing every problem. */
export async function parseAssertionKeys(text: string | undefined): Promise<AssertionKeys> {
  if (text === undefined || text.trim() === "") throw new AssertionKeysError(["the secret is not set"]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AssertionKeysError(["not JSON"]);
  }
  const parsed = setSchema.safeParse(json);
  if (!parsed.success) throw new AssertionKeysError(listProblems(parsed.error));
  const [first] = parsed.data.keys;
  if (!first?.d) throw new AssertionKeysError(["keys.0.d: the signing key (first) has no private part d"]);

  const publicKeys: PublicAssertionJwk[] = parsed.data.keys.map(({ x, y, kid }) => ({ kty: "EC", crv: "P-256", x, y, kid, alg: ASSERTION_ALG, use: "sig" }));
  let signingKey: CryptoKey;
  try {
    // The runtime refuses a d that does not belong to x/y, so the signer matches its published key.
    signingKey = (await importJWK({ kty: "EC", crv: "P-256", x: first.x, y: first.y, d: first.d }, ASSERTION_ALG)) as CryptoKey;
    // Every published key must be a real curve point, or origins would reject its tokens.
    await Promise.all(publicKeys.map((key) => importJWK(key, ASSERTION_ALG)));
  } catch (error) {
    throw new AssertionKeysError([`a key does not import: ${error instanceof Error ? error.message : "unknown error"}`]);
  }
  return { signingKey, kid: first.kid, publicJwks: { keys: publicKeys } };
}

// One import per isolate per secret text; a new text (rotation) imports again.
let cached: { text: string; keys: Promise<AssertionKeys> } | null = null;

/** The cached key set for this secret text; a failed parse is not cached (the next call retries). */
export function loadAssertionKeys(text: string | undefined): Promise<AssertionKeys> {
  if (cached && cached.text === text) return cached.keys;
  const keys = parseAssertionKeys(text);
  const entry = { text: text ?? "", keys };
  cached = entry;
  keys.catch(() => {
    if (cached === entry) cached = null;
  });
  return keys;
}

/** Seconds origins may cache the JWKS; a rotation publishes the new key this long before it signs. */
export const JWKS_MAX_AGE_SECONDS = 300;

/** The `/.well-known/jwks.json` response: public parts only, cacheable by origins. */
export function jwksResponse(publicJwks: PublicJwks): Response {
  return Response.json(publicJwks, {
    headers: { "cache-control": `public, max-age=${JWKS_MAX_AGE_SECONDS}`, "content-type": "application/jwk-set+json" },
  });
}
