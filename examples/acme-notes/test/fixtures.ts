import { type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair, importJWK } from "jose";
import type { AuditEventInput, GatehouseRpc, RecordAuditEventResult } from "../src/audit";
import type { Env } from "../src/index";

export const ISSUER = "gatehouse";
export const AUDIENCE = "acme-notes";
export const NOW_MS = Date.UTC(2026, 10, 30, 12, 0, 0);

export type Signer = { kid: string; key: CryptoKey; publicJwk: JWK };

export async function newSigner(kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, key: privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

export async function signerFromJwk(text: string): Promise<Signer> {
  const jwk = JSON.parse(text) as JWK & { kid: string };
  const { d: _d, ...publicJwk } = jwk;
  return { kid: jwk.kid, key: (await importJWK(jwk, "ES256")) as CryptoKey, publicJwk };
}

export type Identity = { sub: string; tid: string; name: string; email: string; role: string; act?: { sub: string; email: string; name: string } };

export const bob: Identity = { sub: "u-bob", tid: "acme", name: "Bob", email: "bob@acme.test", role: "member" };
export const alice: Identity = { sub: "u-alice", tid: "acme", name: "Alice", email: "alice@acme.test", role: "owner" };
export const carol: Identity = { sub: "u-carol", tid: "globex", name: "Carol", email: "carol@globex.test", role: "owner" };

/** An assertion as Gatehouse signs it; `over` bends one thing for a refusal test. */
export async function assertion(signer: Signer, who: Identity, over: { iatMs?: number; lifetimeSeconds?: number; aud?: string; iss?: string; extra?: JWTPayload } = {}) {
  const iat = Math.floor((over.iatMs ?? NOW_MS) / 1000);
  return new SignJWT({ tid: who.tid, sid: `s-${who.sub}`, email: who.email, name: who.name, role: who.role, permissions: [], amr: ["pwd"], ...(who.act ? { act: who.act } : {}), ...over.extra })
    .setProtectedHeader({ alg: "ES256", kid: signer.kid, typ: "JWT" })
    .setIssuer(over.iss ?? ISSUER)
    .setAudience(over.aud ?? AUDIENCE)
    .setSubject(who.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (over.lifetimeSeconds ?? 60))
    .setJti(crypto.randomUUID())
    .sign(signer.key);
}

/** A GATEHOUSE binding stub serving the given keys, counting JWKS fetches. */
export function stubGatehouse(keys: () => JWK[] | null) {
  const stub = {
    fetches: 0,
    fetch: async (input: RequestInfo | URL) => {
      stub.fetches++;
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const current = keys();
      if (url.pathname !== "/_gatehouse/.well-known/jwks.json" || current === null) return new Response("unavailable", { status: 503 });
      return Response.json({ keys: current });
    },
  };
  return stub;
}

/**
 * A STUB of Gatehouse's RPC entrypoint, not Gatehouse: it keeps the events it is given and
 * answers as recordAuditEvent does (or refuses, when `down`), so these tests see what the
 * product sends. The real entrypoint is tested in Gatehouse's own test/rpc-*.test.ts, and
 * test/gateway-example-contract.test.ts checks this product's events against its schema.
 */
export function stubAuditLog() {
  const stub = {
    events: [] as AuditEventInput[],
    down: false,
    async recordAuditEvent(input: AuditEventInput): Promise<RecordAuditEventResult> {
      if (stub.down) return { ok: false, status: 503, error: "AUDIT_UNAVAILABLE", message: "stubbed outage" };
      stub.events.push(input);
      return { ok: true, id: `aud_stub_${stub.events.length}`, seq: stub.events.length, hash: "stub" };
    },
  };
  return stub;
}

export function envWith(gatehouse: { fetch: (input: RequestInfo | URL) => Promise<Response> }, rpc: GatehouseRpc = stubAuditLog()): Env {
  return { GATEHOUSE: gatehouse as unknown as Fetcher, GATEHOUSE_RPC: rpc, ASSERTION_ISSUER: ISSUER, ASSERTION_AUDIENCE: AUDIENCE, GATEHOUSE_PATH: "/_gatehouse" };
}
