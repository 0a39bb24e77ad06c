import { describe, expect, it } from "vitest";
import { AssertionKeysError, JWKS_MAX_AGE_SECONDS, jwksResponse, loadAssertionKeys, parseAssertionKeys } from "../src/gateway/assertion-keys";
import { keySetText, privateJwk } from "./gateway-fixtures";

async function problemsOf(text: string | undefined): Promise<string[]> {
  try {
    await parseAssertionKeys(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionKeysError);
    return (error as AssertionKeysError).problems;
  }
  throw new Error("expected the key set to be refused");
}

describe("the assertion key set", () => {
  it("the first key signs and every key is published without its private part", async () => {
    const keys = await parseAssertionKeys(await keySetText("new", "old"));
    expect(keys.kid).toBe("new");
    expect(keys.signingKey.type).toBe("private");
    expect(keys.publicJwks.keys.map((k) => k.kid)).toEqual(["new", "old"]);
    for (const key of keys.publicJwks.keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    }
  });

  it("a missing or non-JSON secret is refused with a typed error", async () => {
    expect(await problemsOf(undefined)).toEqual(["the secret is not set"]);
    expect(await problemsOf("   ")).toEqual(["the secret is not set"]);
    expect(await problemsOf("{nope")).toEqual(["not JSON"]);
  });

  it("a set without keys is refused", async () => {
    expect((await problemsOf('{"keys":[]}')).join()).toMatch(/no keys/);
    expect((await problemsOf("{}")).join()).toMatch(/keys/);
  });

  it("every problem is listed: missing kid, not EC P-256", async () => {
    const good = await privateJwk("a");
    const { kid: _drop, ...noKid } = await privateJwk("b");
    const rsa = { ...(await privateJwk("c")), kty: "RSA" };
    const p384 = { ...(await privateJwk("d")), crv: "P-384" };
    const problems = await problemsOf(JSON.stringify({ keys: [good, noKid, rsa, p384] }));
    expect(problems).toEqual(expect.arrayContaining(["keys.1.kid: kid is missing", "keys.2.kty: kty must be EC", "keys.3.crv: crv must be P-256"]));
  });

  it("a duplicate kid is refused", async () => {
    const problems = await problemsOf(JSON.stringify({ keys: [await privateJwk("same"), await privateJwk("same")] }));
    expect(problems).toEqual(['keys.1.kid: duplicate kid "same"']);
  });

  it("the signing key must carry its private part d; older keys need not", async () => {
    const { d: _d, ...publicOnly } = await privateJwk("pub");
    expect(await problemsOf(JSON.stringify({ keys: [publicOnly] }))).toEqual(["keys.0.d: the signing key (first) has no private part d"]);
    const keys = await parseAssertionKeys(JSON.stringify({ keys: [await privateJwk("signer"), publicOnly] }));
    expect(keys.publicJwks.keys.map((k) => k.kid)).toEqual(["signer", "pub"]);
  });

  it("a private part that does not belong to the published key is refused", async () => {
    const a = await privateJwk("a");
    const b = await privateJwk("b");
    const problems = await problemsOf(JSON.stringify({ keys: [{ ...a, d: b.d }] }));
    expect(problems.join()).toMatch(/does not import/);
  });

  it("a published key that is not a point on the curve is refused", async () => {
    const { d: _d, ...old } = await privateJwk("old");
    const problems = await problemsOf(JSON.stringify({ keys: [await privateJwk("new"), { ...old, x: "A".repeat(43) }] }));
    expect(problems.join()).toMatch(/does not import/);
  });

  it("the set is imported once per secret text and again when the text changes", async () => {
    const first = await keySetText("one");
    const second = await keySetText("two");
    const a = await loadAssertionKeys(first);
    expect(await loadAssertionKeys(first)).toBe(a);
    const b = await loadAssertionKeys(second);
    expect(b).not.toBe(a);
    expect(b.kid).toBe("two");
  });

  it("the JWKS endpoint serves only public parts, cacheable by origins", async () => {
    const keys = await parseAssertionKeys(await keySetText("new", "old"));
    const res = jwksResponse(keys.publicJwks);
    expect(res.headers.get("cache-control")).toBe(`public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    const text = await res.text();
    expect(text).not.toContain('"d"');
    expect(JSON.parse(text)).toEqual(keys.publicJwks);
  });
});
