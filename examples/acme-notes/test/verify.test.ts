import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ASSERTION_HEADER, createAssertionVerifier } from "../../../packages/product/src/index";
import { AUDIENCE, ISSUER, NOW_MS, alice, assertion, bob, newSigner, stubGatehouse } from "./fixtures";

async function setup(options: { cooldownMs?: number } = {}) {
  const signer = await newSigner("k1");
  let published = [signer.publicJwk];
  let available = true;
  const gatehouse = stubGatehouse(() => (available ? published : null));
  let nowMs = NOW_MS;
  const verify = createAssertionVerifier({
    jwksUrl: "https://gatehouse/_gatehouse/.well-known/jwks.json",
    fetcher: gatehouse,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => nowMs,
    ...(options.cooldownMs !== undefined ? { cooldownMs: options.cooldownMs } : {}),
  });
  const withToken = (token: string) => new Request("https://notes.test/app", { headers: { [ASSERTION_HEADER]: token } });
  return {
    signer,
    gatehouse,
    verify,
    withToken,
    publish: (keys: typeof published) => void (published = keys),
    setAvailable: (value: boolean) => void (available = value),
    advanceSeconds: (s: number) => void (nowMs += s * 1000),
  };
}

describe("the reference verifier", () => {
  it("a valid assertion yields its claims", async () => {
    const s = await setup();
    const result = await s.verify(s.withToken(await assertion(s.signer, { ...bob, act: { sub: alice.sub, email: alice.email, name: alice.name } })));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.claims).toMatchObject({ sub: "u-bob", tid: "acme", name: "Bob", act: { sub: "u-alice" } });
  });

  it("a request without an assertion is 401", async () => {
    const s = await setup();
    expect(await s.verify(new Request("https://notes.test/app", { headers: { "x-user-id": "u-bob" } }))).toMatchObject({ ok: false, status: 401 });
  });

  it("an assertion signed by a key Gatehouse does not publish is 401", async () => {
    const s = await setup();
    const stranger = await newSigner("k1");
    expect(await s.verify(s.withToken(await assertion(stranger, bob)))).toMatchObject({ ok: false, status: 401 });
  });

  it("an expired assertion is 401", async () => {
    const s = await setup();
    const token = await assertion(s.signer, bob);
    s.advanceSeconds(60 + 6); // past exp and the 5 s skew allowance
    expect(await s.verify(s.withToken(token))).toMatchObject({ ok: false, status: 401 });
  });

  it("an assertion issued more than 60 s ago is 401 even with a far exp", async () => {
    const s = await setup();
    const token = await assertion(s.signer, bob, { lifetimeSeconds: 3600 });
    s.advanceSeconds(60 + 6);
    expect(await s.verify(s.withToken(token))).toMatchObject({ ok: false, status: 401 });
  });

  it("an assertion for another audience or from another issuer is 401", async () => {
    const s = await setup();
    expect(await s.verify(s.withToken(await assertion(s.signer, bob, { aud: "other-product" })))).toMatchObject({ ok: false, status: 401 });
    expect(await s.verify(s.withToken(await assertion(s.signer, bob, { iss: "https://evil.test" })))).toMatchObject({ ok: false, status: 401 });
  });

  it("only ES256 is accepted: an HS256 token is 401", async () => {
    const s = await setup();
    const hs = await new SignJWT({ tid: "acme", sid: "s", email: "", name: "", role: "owner", permissions: [], amr: [] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject("u")
      .setIssuedAt(NOW_MS / 1000).setExpirationTime(NOW_MS / 1000 + 60).setJti("j").sign(new TextEncoder().encode("x".repeat(32)));
    expect(await s.verify(s.withToken(hs))).toMatchObject({ ok: false, status: 401 });
  });

  it("an assertion without the tenant claim is 401", async () => {
    const s = await setup();
    expect(await s.verify(s.withToken(await assertion(s.signer, bob, { extra: { tid: undefined } })))).toMatchObject({ ok: false, status: 401 });
  });

  it("the JWKS is fetched once and then served from the verifier's cache", async () => {
    const s = await setup();
    for (let i = 0; i < 3; i++) expect((await s.verify(s.withToken(await assertion(s.signer, bob)))).ok).toBe(true);
    expect(s.gatehouse.fetches).toBe(1);
  });

  it("a token from a newly rotated key makes the verifier refetch the JWKS", async () => {
    const s = await setup({ cooldownMs: 0 });
    expect((await s.verify(s.withToken(await assertion(s.signer, bob)))).ok).toBe(true);
    const rotated = await newSigner("k2");
    s.publish([rotated.publicJwk, s.signer.publicJwk]);
    expect((await s.verify(s.withToken(await assertion(rotated, bob)))).ok).toBe(true);
    expect(s.gatehouse.fetches).toBe(2);
  });

  it("an unreachable JWKS is 503, never anonymous and never a pass", async () => {
    const s = await setup();
    s.setAvailable(false);
    expect(await s.verify(s.withToken(await assertion(s.signer, bob)))).toMatchObject({ ok: false, status: 503, error: "IDENTITY_UNAVAILABLE" });
  });
});
