import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { fromBase64Url, toBase64Url } from "../src/lib/crypto";
import { LEGACY_KEY_ID, importKeySet, parseKeySet, splitKeyId } from "../src/lib/key-set";
import { configured } from "./helpers";

const key32 = (fill: number) => toBase64Url(new Uint8Array(32).fill(fill));
const AES = { minBytes: 32, maxBytes: 32 };

function problemsOf(raw: string, length = AES): string[] {
  const parsed = parseKeySet(raw, length);
  if (parsed.ok) throw new Error("expected the key set to be refused");
  return parsed.problems;
}

describe("key sets", () => {
  it("a bare key, as single-key secrets were, is one key with the legacy id", () => {
    const parsed = parseKeySet(key32(1), AES);
    expect(parsed.ok && parsed.set.current.id).toBe(LEGACY_KEY_ID);
    expect(parsed.ok && parsed.set.keys.length).toBe(1);
  });

  it("a bare key in standard padded base64, which single-key secrets accepted, is still the same key", () => {
    const bytes = new Uint8Array(32).fill(0xfb);
    const legacy = btoa(String.fromCharCode(...bytes)); // what `openssl rand -base64 32` writes
    expect(legacy).toMatch(/[+/].*=$/);
    const parsed = parseKeySet(legacy, AES);
    if (!parsed.ok) throw new Error(parsed.problems.join("; "));
    expect(parsed.set.current.id).toBe(LEGACY_KEY_ID);
    expect(parsed.set.current.bytes).toEqual(fromBase64Url(legacy));
    expect(parsed.set.current.bytes).toEqual(bytes);
  });

  it("what a key made names its id first, what was made before ids names the legacy key, and anything else is refused", () => {
    expect(splitKeyId("k2.mac", 1)).toEqual({ keyId: "k2", explicit: true, fields: ["mac"] });
    expect(splitKeyId("mac", 1)).toEqual({ keyId: LEGACY_KEY_ID, explicit: false, fields: ["mac"] });
    expect(splitKeyId("k2.iv.ct", 2)).toEqual({ keyId: "k2", explicit: true, fields: ["iv", "ct"] });
    for (const bad of ["", "k2.", ".mac", "a.b.c", "k2..mac"]) expect(splitKeyId(bad, 1)).toBeNull();
  });

  it("the first key of a set is current and the others stay accepted", () => {
    const parsed = parseKeySet(JSON.stringify([{ id: "k2", key: key32(2) }, { id: "k0", key: key32(1) }]), AES);
    if (!parsed.ok) throw new Error(parsed.problems.join("; "));
    expect(parsed.set.current.id).toBe("k2");
    expect(parsed.set.keys.map((k) => k.id)).toEqual(["k2", "k0"]);
  });

  it.each([
    ["an empty set", "[]"],
    ["a repeated id", JSON.stringify([{ id: "a", key: key32(1) }, { id: "a", key: key32(2) }])],
    ["an id that could not prefix a ciphertext", JSON.stringify([{ id: "a.b", key: key32(1) }])],
    ["a short key", JSON.stringify([{ id: "a", key: toBase64Url(new Uint8Array(16)) }])],
    ["a key that is not base64url", JSON.stringify([{ id: "a", key: "!!".repeat(22) }])],
    ["an unknown field", JSON.stringify([{ id: "a", key: key32(1), note: "x" }])],
    ["JSON that is not a set", '[{"id":'],
    ["a bare key of the wrong length", toBase64Url(new Uint8Array(31))],
  ])("refuses %s", (_what, raw) => {
    expect(problemsOf(raw).length).toBeGreaterThan(0);
  });

  it("a refused key set never quotes its keys", () => {
    const secret = key32(7);
    const raw = JSON.stringify([{ id: "ok", key: secret }, { id: "bad", key: toBase64Url(new Uint8Array(16).fill(9)) }]);
    const text = problemsOf(raw).join(" ");
    expect(text).toContain('"bad"');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(toBase64Url(new Uint8Array(16).fill(9)));
  });

  it("keys are imported once per set and use", async () => {
    const parsed = parseKeySet(key32(3), AES);
    if (!parsed.ok) throw new Error("refused");
    let imports = 0;
    const importer = (bytes: Uint8Array) => {
      imports++;
      return crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt"]);
    };
    const first = await importKeySet(parsed.set, "test", importer);
    expect(await importKeySet(parsed.set, "test", importer)).toBe(first);
    expect(first.current.id).toBe(LEGACY_KEY_ID);
    expect(first.find("unknown")).toBeNull();
    expect(imports).toBe(1);
  });
});

describe("key-set secrets are validated at startup", () => {
  it.each(["TOTP_ENCRYPTION_KEY", "AUDIT_CHECKPOINT_KEY"])("a malformed %s is a ConfigError naming the secret, not its value", (name) => {
    const raw = JSON.stringify([{ id: "k1", key: "c2hvcnQ" }]);
    let error: unknown;
    try {
      parseConfig(configured({ [name]: raw }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(new RegExp(`^${name} \\[0\\] key "k1"`));
    expect((error as Error).message).not.toContain("c2hvcnQ");
  });

  it("a valid key set reaches the configuration; an unset secret is null", () => {
    const config = parseConfig(configured({ TOTP_ENCRYPTION_KEY: JSON.stringify([{ id: "k1", key: key32(1) }]) }));
    expect(config.keys.totp?.current.id).toBe("k1");
    expect(config.keys.auditCheckpoint).toBeNull();
  });
});
