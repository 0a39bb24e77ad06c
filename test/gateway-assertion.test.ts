import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { type AssertionKeys, parseAssertionKeys } from "../src/gateway/assertion-keys";
import {
  ASSERTION_LIFETIME_SECONDS,
  AssertionCache,
  type AssertionSubject,
  REUSE_MARGIN_SECONDS,
  signAssertion,
  verifyAssertion,
} from "../src/gateway/assertion";
import { keySetText } from "./gateway-fixtures";
import { START_MS } from "./helpers";

const ISSUER = "https://gatehouse.test";
const AUDIENCE = "acme-notes";

const subject: AssertionSubject = {
  sessionId: "sess1",
  sessionVersion: 1,
  tenantId: "acme",
  user: { id: "u-bob", email: "bob@acme.test", name: "Bob", role: "member", permissions: [] },
  amr: ["pwd"],
  actor: null,
};

async function setup(...kids: string[]) {
  const keys = await parseAssertionKeys(await keySetText(...(kids.length ? kids : ["k1"])));
  const cache = new AssertionCache();
  const sign = (s: AssertionSubject, nowMs = START_MS, over: Partial<{ keys: AssertionKeys; audience: string }> = {}) =>
    signAssertion(s, { keys, issuer: ISSUER, audience: AUDIENCE, nowMs, cache, ...over });
  const verify = (token: string, nowMs = START_MS, over: Partial<{ issuer: string; audience: string; keys: AssertionKeys }> = {}) =>
    verifyAssertion(token, { jwks: (over.keys ?? keys).publicJwks, issuer: over.issuer ?? ISSUER, audience: over.audience ?? AUDIENCE, nowMs });
  return { keys, cache, sign, verify };
}

describe("signing the identity assertion", () => {
  it("an assertion carries the subject's identity, signed ES256 with the signing kid", async () => {
    const { sign, verify } = await setup("k1");
    const token = await sign({ ...subject, amr: ["pwd", "otp"], user: { ...subject.user, permissions: ["SETTINGS_TEAM_VIEW"] } });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", kid: "k1", typ: "JWT" });
    const claims = await verify(token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: "u-bob", tid: "acme", sid: "sess1", email: "bob@acme.test", name: "Bob", role: "member", permissions: ["SETTINGS_TEAM_VIEW"], amr: ["pwd", "otp"] });
    expect(claims.jti.length).toBeGreaterThan(10);
    expect(claims.act).toBeUndefined();
  });

  it("an assertion lives at most ASSERTION_LIFETIME_SECONDS, and never past the subject's end", async () => {
    const { sign } = await setup();
    expect(ASSERTION_LIFETIME_SECONDS).toBeLessThanOrEqual(60);
    const claims = decodeJwt(await sign(subject));
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(ASSERTION_LIFETIME_SECONDS);
    const ending = decodeJwt(await sign({ ...subject, notAfterMs: START_MS + 10_000 }));
    expect((ending.exp ?? 0) - (ending.iat ?? 0)).toBe(10);
    await expect(sign({ ...subject, notAfterMs: START_MS })).rejects.toThrow(RangeError);
  });

  it("while impersonating, the act claim names the real user", async () => {
    const { sign, verify } = await setup();
    const token = await sign({ ...subject, actor: { id: "u-alice", email: "alice@acme.test", name: "Alice" } });
    const claims = await verify(token);
    expect(claims.sub).toBe("u-bob");
    expect(claims.act).toEqual({ sub: "u-alice", email: "alice@acme.test", name: "Alice" });
  });

  it("a hot request reuses the token signed for the same state until REUSE_MARGIN_SECONDS before expiry", async () => {
    const { sign } = await setup();
    const first = await sign(subject);
    expect(await sign(subject)).toBe(first);
    const lastReuseMs = START_MS + (ASSERTION_LIFETIME_SECONDS - REUSE_MARGIN_SECONDS - 1) * 1000;
    expect(await sign({ ...subject }, lastReuseMs)).toBe(first);
    const fresh = await sign(subject, lastReuseMs + 1000);
    expect(fresh).not.toBe(first);
    expect(decodeJwt(fresh).iat).toBe((lastReuseMs + 1000) / 1000);
  });

  it("any change of the state the claims derive from stops reuse at once", async () => {
    const { sign, keys } = await setup("k1");
    const rotated = await parseAssertionKeys(await keySetText("k2", "k1"));
    const base = await sign(subject);
    const changes: [string, () => Promise<string>][] = [
      ["session", () => sign({ ...subject, sessionId: "sess2" })],
      ["session_version", () => sign({ ...subject, sessionVersion: 2 })],
      ["tenant", () => sign({ ...subject, tenantId: "globex" })],
      ["user", () => sign({ ...subject, user: { ...subject.user, id: "u-other" } })],
      ["email", () => sign({ ...subject, user: { ...subject.user, email: "b@acme.test" } })],
      ["name", () => sign({ ...subject, user: { ...subject.user, name: "Robert" } })],
      ["role", () => sign({ ...subject, user: { ...subject.user, role: "admin" } })],
      ["permissions", () => sign({ ...subject, user: { ...subject.user, permissions: ["SETTINGS_TEAM_VIEW"] } })],
      ["amr", () => sign({ ...subject, amr: ["pwd", "otp"] })],
      ["impersonation", () => sign({ ...subject, actor: { id: "u-alice", email: "alice@acme.test", name: "Alice" } })],
      ["subject end", () => sign({ ...subject, notAfterMs: START_MS + 30_000 })],
      ["kid", () => sign(subject, START_MS, { keys: rotated })],
      ["aud", () => sign(subject, START_MS, { audience: "other-product" })],
    ];
    for (const [what, signChanged] of changes) {
      expect(await signChanged(), what).not.toBe(base);
    }
    expect(keys.kid).toBe("k1");
    expect(decodeProtectedHeader(await sign(subject, START_MS, { keys: rotated })).kid).toBe("k2");
  });

  it("the reuse cache is bounded and evicts the least recently used token", async () => {
    const keys = await parseAssertionKeys(await keySetText("k1"));
    const cache = new AssertionCache(2);
    const sign = (sessionId: string) => signAssertion({ ...subject, sessionId }, { keys, issuer: ISSUER, audience: AUDIENCE, nowMs: START_MS, cache });
    const a = await sign("a");
    const b = await sign("b");
    expect(await sign("a")).toBe(a); // a is now the most recent
    await sign("c"); // evicts b
    expect(cache.size).toBe(2);
    expect(await sign("a")).toBe(a);
    expect(await sign("b")).not.toBe(b);
  });
});

describe("verifying the identity assertion", () => {
  it("an expired assertion is refused", async () => {
    const { sign, verify } = await setup();
    const token = await sign(subject);
    await expect(verify(token, START_MS + ASSERTION_LIFETIME_SECONDS * 1000)).rejects.toThrow(/exp/);
  });

  it("an assertion for another audience or from another issuer is refused", async () => {
    const { sign, verify } = await setup();
    const token = await sign(subject);
    await expect(verify(token, START_MS, { audience: "other-product" })).rejects.toThrow(/aud/);
    await expect(verify(token, START_MS, { issuer: "https://evil.test" })).rejects.toThrow(/iss/);
  });

  it("an assertion signed by a key not in the published set is refused", async () => {
    const { sign } = await setup("k1");
    const other = await setup("k1");
    const token = await sign(subject);
    await expect(other.verify(token)).rejects.toThrow(/signature/);
  });

  it("a tampered assertion is refused", async () => {
    const { sign, verify } = await setup();
    const [header, , signature] = (await sign(subject)).split(".");
    const forged = btoa(JSON.stringify({ ...decodeJwt(await sign(subject)), tid: "globex" })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    await expect(verify(`${header}.${forged}.${signature}`)).rejects.toThrow(/signature/);
  });

  it("only ES256 is accepted: an HS256 or unsigned token with the right claims is refused", async () => {
    const { verify } = await setup("k1");
    const claims = { tid: "acme", sid: "s", email: "", name: "", role: "owner", permissions: [], amr: [] };
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject("u").setIssuedAt(START_MS / 1000).setExpirationTime(START_MS / 1000 + 60).setJti("j").sign(new TextEncoder().encode("x".repeat(32)));
    await expect(verify(hs)).rejects.toThrow(/alg/);
    const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${hs.split(".")[1]}.`;
    await expect(verify(none)).rejects.toThrow();
  });

  it("an assertion older than the lifetime is refused even with a far exp", async () => {
    const { keys, verify } = await setup("k1");
    const long = await new SignJWT({ tid: "acme", sid: "s", email: "", name: "", role: "owner", permissions: [], amr: [] })
      .setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject("u")
      .setIssuedAt(START_MS / 1000).setExpirationTime(START_MS / 1000 + 3600).setJti("j").sign(keys.signingKey);
    await expect(verify(long, START_MS + (ASSERTION_LIFETIME_SECONDS + 1) * 1000)).rejects.toThrow(/iat|age/);
  });

  it("a token from a key still published after rotation verifies", async () => {
    const old = await setup("k1");
    const token = await old.sign(subject);
    const rotatedJwks = { keys: [...(await parseAssertionKeys(await keySetText("k2"))).publicJwks.keys, ...old.keys.publicJwks.keys] };
    const claims = await verifyAssertion(token, { jwks: rotatedJwks, issuer: ISSUER, audience: AUDIENCE, nowMs: START_MS });
    expect(claims.sub).toBe("u-bob");
  });
});
