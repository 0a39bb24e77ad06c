import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { createWorker } from "../src/worker";
import { Harness, ORIGIN, configured, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import type { InvitationBody } from "./invitation-fixtures";

afterEach(() => vi.restoreAllMocks());

/** Where a hostile request says it was sent: its URL and its Host header. */
const HOSTILE = "http://attacker.example";
const HOOK = { EMAIL_WEBHOOK_URL: "https://product.example/hooks/email", EMAIL_WEBHOOK_SECRET: "a-local-test-secret-of-at-least-32-characters" };
const OPERATOR_TOKEN = "operator-token-for-tests-0123456789abcdef";

/** The links posted to the email hook, in place of the network. */
function mailedLinks(): string[] {
  const links: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    links.push((JSON.parse(await new Request(input, init).text()) as { link: string }).link);
    return new Response(null, { status: 202 });
  });
  return links;
}

const onPublicOrigin = (page: string) => new RegExp(`^${ORIGIN.replaceAll(".", "\\.")}/_gatehouse${page}\\?token=`);

describe("every link that leaves Gatehouse is on PUBLIC_ORIGIN, whatever Host the request names", () => {
  it("a forgot-password request sent with a hostile Host emails a reset link on PUBLIC_ORIGIN", async () => {
    const h = new Harness();
    const t = await seedTenant("host");
    const links = mailedLinks();
    const res = await h.call("/api/auth/forgot-password", { origin: HOSTILE, body: { email: t.member.email }, env: withEnv(HOOK) });
    expect(res.status).toBe(202);
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(onPublicOrigin("/reset-password"));
  });

  it("an admin's invitation made through a hostile Host links to PUBLIC_ORIGIN, in the answer and the email", async () => {
    const h = new Harness();
    const t = await seedTenant("host");
    const admin = await h.session(t.admin);
    const links = mailedLinks();
    const res = await h.call<InvitationBody>("/api/users/invitations", { origin: HOSTILE, cookie: admin.cookie, env: withEnv(HOOK), body: { email: "invitee@host.test", role: "admin" } });
    expect(res.status).toBe(201);
    expect(res.body.link).toMatch(onPublicOrigin("/accept-invitation"));
    expect(links).toEqual([res.body.link]);
  });

  it("an admin-issued reset link made through a hostile Host links to PUBLIC_ORIGIN", async () => {
    const h = new Harness();
    const t = await seedTenant("host");
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "PASSWORD_RESET", t.admin);
    const res = await h.call<{ link: string }>(`/api/users/${t.member.id}/password-reset`, { origin: HOSTILE, cookie: admin.cookie, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.link).toMatch(onPublicOrigin("/reset-password"));
  });

  it("the operator's first-owner invitation made through a hostile Host links to PUBLIC_ORIGIN", async () => {
    const h = new Harness();
    const slug = `host-${crypto.randomUUID().slice(0, 8)}`;
    const res = await h.call<{ invitationLink: string }>("/api/operator/tenants", {
      origin: HOSTILE,
      env: withEnv({ OPERATOR_TOKEN }),
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: { name: "Host", slug, ownerEmail: `owner@${slug}.test` },
    });
    expect(res.status).toBe(201);
    expect(res.body.invitationLink).toMatch(onPublicOrigin("/accept-invitation"));
  });
});

describe("PUBLIC_ORIGIN is validated at startup", () => {
  const refusal = (value: string | undefined) => {
    try {
      parseConfig(configured({ PUBLIC_ORIGIN: value }));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
    throw new Error(`expected PUBLIC_ORIGIN ${JSON.stringify(value)} to be refused`);
  };

  it("a Worker without PUBLIC_ORIGIN answers every request 503 CONFIG_INVALID", async () => {
    for (const value of [undefined, ""]) {
      expect(refusal(value)).toMatch(/^PUBLIC_ORIGIN must be set/);
      const res = await createWorker(withEnv({ PUBLIC_ORIGIN: value })).fetch(new Request(gatehouseUrl("/api/health")), env, {} as ExecutionContext);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([503, "CONFIG_INVALID"]);
    }
  });

  it.each(["http://auth.example.com", "http://10.0.0.1:8787", "http://localhost.attacker.example", "http://127.0.0.1.attacker.example"])(
    "PUBLIC_ORIGIN must use https except on a loopback host: %j is refused",
    (value) => {
      expect(refusal(value)).toMatch(/^PUBLIC_ORIGIN must use https:\/\//);
    },
  );

  it.each(["https://auth.example.com/app", "https://auth.example.com/?next=x", "https://auth.example.com#x", "https://user:pass@auth.example.com", "auth.example.com", "not a url", "javascript:alert(1)", "ftp://auth.example.com"])(
    "PUBLIC_ORIGIN is an origin alone, nothing else: %j is refused",
    (value) => {
      expect(refusal(value)).toMatch(/^PUBLIC_ORIGIN must be (a URL|http\(s\)|an origin only)/);
    },
  );

  it.each([
    ["https://auth.example.com", "https://auth.example.com"],
    ["https://Auth.Example.com:443/", "https://auth.example.com"],
    ["http://localhost:8787", "http://localhost:8787"],
    ["http://127.0.0.1:8787", "http://127.0.0.1:8787"],
    ["http://[::1]:8787", "http://[::1]:8787"],
  ])("PUBLIC_ORIGIN %j is accepted as %j", (value, origin) => {
    expect(parseConfig(configured({ PUBLIC_ORIGIN: value })).publicOrigin).toBe(origin);
  });
});
