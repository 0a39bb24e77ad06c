// The pass-through (see wrangler.toml): every request goes to the product as it came.
// Two bench-only routes let the product's protected page be measured like for like: the
// product fetches its JWKS from here (its GATEHOUSE binding), and the bench client has a
// real Gatehouse assertion's claims signed here with the matching key, then sends that
// token with its requests; this Worker forwards it unchanged and the product verifies it
// exactly as it verifies Gatehouse's. Neither route is on the measured path: forwarding
// does no work of its own beyond one string test per route.
import { SignJWT, exportJWK, generateKeyPair } from "jose";

const KID = "bench-passthrough";
const JWKS_PATH = "/_gatehouse/.well-known/jwks.json";
const MINT_PATH = "/__bench/assertion";
let keys; // one key pair per isolate

const keyPair = () =>
  (keys ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    return { privateKey, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: "ES256", use: "sig" }] } };
  })());

/**
 * The claims the bench posts (those of a real Gatehouse assertion, read through the
 * product's /whoami), signed anew with this Worker's key, valid 60 s from now.
 */
async function mint(request) {
  const { privateKey } = await keyPair();
  const { iss, aud, sub, iat, exp, jti, nbf, ...claims } = await request.json();
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: KID, typ: "JWT" })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 60)
    .setJti(crypto.randomUUID())
    .sign(privateKey);
}

export default {
  async fetch(request, env) {
    const url = request.url;
    if (url.endsWith(JWKS_PATH)) return Response.json((await keyPair()).jwks);
    if (url.endsWith(MINT_PATH) && request.method === "POST") return new Response(await mint(request), { headers: { "cache-control": "no-store" } });
    return env.ORIGIN.fetch(request);
  },
};
