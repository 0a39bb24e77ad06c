import { exportJWK, generateKeyPair, type JWK } from "jose";

export type PrivateJwk = JWK & { kid: string };

/** A fresh private EC P-256 JWK with a kid, as `npm run keys` (scripts/keys.mjs) writes them. */
export async function privateJwk(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
}

/** The secret's text for a key set of the given kids (the first signs). */
export async function keySetText(...kids: string[]): Promise<string> {
  return JSON.stringify({ keys: await Promise.all(kids.map(privateJwk)) });
}
