import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { Harness, configured, seedTenant, withEnv } from "./helpers";
import { invite, NEW_PASSWORD, tokenOf } from "./invitation-fixtures";

afterEach(() => vi.restoreAllMocks());

const API = "https://pwned.test";
const BREACHED = "violet harbour lanterns at dusk";

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** The range API in place of the network: knows BREACHED (and pads with decoys), records what it was asked. */
async function pwnedFixture() {
  const hash = await sha1Hex(BREACHED);
  const asked: Request[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    asked.push(request);
    const prefix = request.url.slice(`${API}/range/`.length);
    const lines = ["0".repeat(35) + ":0", "F".repeat(35) + ":12"];
    if (prefix === hash.slice(0, 5)) lines.push(`${hash.slice(5)}:52000`);
    return new Response(lines.join("\r\n"));
  });
  return asked;
}

async function acceptWith(password: string, env = withEnv({ PWNED_PASSWORDS_API: API })) {
  const h = new Harness();
  const t = await seedTenant("pwned");
  const admin = await h.session(t.admin);
  const token = tokenOf((await invite(h, admin.cookie, `joiner-${crypto.randomUUID().slice(0, 8)}@example.test`)).body.link);
  const res = await h.call<{ error?: string; reason?: string }>("/api/auth/invitations/accept", { body: { token, displayName: "Joiner", password }, env });
  return res;
}

describe("breached passwords (Have I Been Pwned, k-anonymity)", () => {
  it("a password in a known breach is refused as WEAK_PASSWORD with reason BREACHED", async () => {
    await pwnedFixture();
    const res = await acceptWith(BREACHED);
    expect([res.status, res.body.error, res.body.reason]).toEqual([400, "WEAK_PASSWORD", "BREACHED"]);
  });

  it("only the first 5 hex characters of the password's SHA-1 leave the Worker", async () => {
    const asked = await pwnedFixture();
    await acceptWith(NEW_PASSWORD);
    expect(asked).toHaveLength(1);
    const [request] = asked as [Request];
    const hash = await sha1Hex(NEW_PASSWORD);
    expect(request.url).toBe(`${API}/range/${hash.slice(0, 5)}`);
    expect(request.method).toBe("GET");
    expect(await request.text()).toBe("");
    const sent = [request.url, ...request.headers.values()].join(" ");
    expect(sent).not.toContain(hash.slice(5, 10));
    expect(sent).not.toContain(NEW_PASSWORD);
  });

  it("an unreachable breach API fails open: the password passes on the bundled list's word", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
    const res = await acceptWith(NEW_PASSWORD);
    expect(res.status).toBe(200);
  });

  it("a garbled answer fails open too, and a password on the bundled list is refused without asking", async () => {
    const asked: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      asked.push(String(input));
      return new Response("<html>maintenance</html>");
    });
    expect((await acceptWith(NEW_PASSWORD)).status).toBe(200);
    const common = await acceptWith("1234567890qwerty");
    expect([common.status, common.body.reason]).toEqual([400, "COMMON"]);
    expect(asked).toHaveLength(1);
  });

  it("PWNED_PASSWORDS_API is validated at startup: https, or http on this machine, or off", () => {
    expect(() => parseConfig(configured({ PWNED_PASSWORDS_API: "http://pwned.example" }))).toThrow(ConfigError);
    expect(() => parseConfig(configured({ PWNED_PASSWORDS_API: "not a url" }))).toThrow(ConfigError);
    expect(parseConfig(configured({ PWNED_PASSWORDS_API: "http://127.0.0.1:9999/" })).pwnedPasswordsApi).toBe("http://127.0.0.1:9999");
    expect(parseConfig(configured({ PWNED_PASSWORDS_API: "off" })).pwnedPasswordsApi).toBeNull();
    expect(parseConfig(configured({})).pwnedPasswordsApi).toBe("https://api.pwnedpasswords.com");
  });
});
