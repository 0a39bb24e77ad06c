import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { createDb } from "../src/db/client";
import { EMAIL_SIGNATURE_HEADER, sendEmail } from "../src/email";
import type { AppEnv, Bindings } from "../src/env";
import { START_MS, configured, seedTenant, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const HOOK_URL = "https://product.example/hooks/gatehouse-email";
const SECRET = "a-local-test-secret-of-at-least-32-characters";
const LINK = "https://gatehouse.test/_gatehouse/accept-invitation?token=inv_abc.secretpart";

/** The product's side, written independently of Gatehouse's signer: how a receiver checks a request. */
async function receiverAccepts(req: Request, body: string, nowMs: number, toleranceSeconds = 300): Promise<boolean> {
  const header = req.headers.get(EMAIL_SIGNATURE_HEADER) ?? "";
  const parts = Object.fromEntries(header.split(",").map((kv) => kv.split("=") as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const mac = Uint8Array.from((parts.v1 ?? "").match(/../g) ?? [], (h) => parseInt(h, 16));
  return crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${t}.${body}`));
}

/** A local receiver in place of the network: records what Gatehouse posted. */
function localReceiver(status = 202) {
  const received: { request: Request; body: string }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    received.push({ request, body: await request.clone().text() });
    return new Response(null, { status });
  });
  return received;
}

/**
 * A receiver that answers 307 to `location`, behind a fetch that does what fetch does with
 * a redirect: follows it (re-posting the body) unless told `redirect: "manual"`.
 */
function receiverThatRedirects(location: string) {
  const posted: string[] = [];
  const fetchLike = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    posted.push(request.url);
    if (request.url !== HOOK_URL) return new Response(null, { status: 202 });
    const redirect = new Response(null, { status: 307, headers: { location } });
    return request.redirect === "follow" ? fetchLike(location, { method: request.method, headers: request.headers, body: await request.text() }) : redirect;
  };
  vi.spyOn(globalThis, "fetch").mockImplementation(fetchLike);
  return posted;
}

async function send(bindings: Bindings, tenantId: string, nowMs = START_MS) {
  const app = new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set("now", nowMs);
      c.set("db", createDb(c.env.DB));
      c.set("requestId", "req_test");
      await next();
    })
    .post("/", async (c) => c.json({ delivery: await sendEmail(c, { to: "new.person@acme.test", template: "invitation", link: LINK, tenantId }) }));
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request("https://x/", { method: "POST" }), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return ((await res.json()) as { delivery: string }).delivery;
}

describe("email hook", () => {
  it("posts { id, to, template, link, tenant } as JSON, signed with HMAC-SHA256 over the timestamp and body", async () => {
    const t = await seedTenant("mail");
    const received = localReceiver();
    expect(await send(withEnv({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET }), t.id)).toBe("sent");
    expect(received).toHaveLength(1);
    const [{ request, body }] = received as [{ request: Request; body: string }];
    expect(request.url).toBe(HOOK_URL);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(body)).toEqual({ id: expect.stringMatching(/^msg_/), to: "new.person@acme.test", template: "invitation", link: LINK, tenant: { id: t.id, name: "mail", slug: t.slug } });
    expect(await receiverAccepts(request, body, START_MS)).toBe(true);
    // The signature covers the body: a changed link no longer verifies.
    expect(await receiverAccepts(request, body.replace("secretpart", "otherpart"), START_MS)).toBe(false);
  });

  it("a signed request carries its timestamp, so a receiver refuses it when replayed later", async () => {
    const t = await seedTenant("mail");
    const received = localReceiver();
    await send(withEnv({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET }), t.id, START_MS);
    const [{ request, body }] = received as [{ request: Request; body: string }];
    expect(request.headers.get(EMAIL_SIGNATURE_HEADER)).toMatch(new RegExp(`^t=${START_MS / 1000},v1=[0-9a-f]{64}$`));
    expect(await receiverAccepts(request, body, START_MS + 60_000)).toBe(true);
    expect(await receiverAccepts(request, body, START_MS + 10 * 60_000)).toBe(false);
  });

  it("every message carries its own random id inside the signed body, so a receiver drops a replay inside the timestamp window", async () => {
    const t = await seedTenant("mail");
    const received = localReceiver();
    const hooked = withEnv({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET });
    await send(hooked, t.id);
    await send(hooked, t.id);
    const ids = received.map(({ body }) => (JSON.parse(body) as { id: string }).id);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^msg_[a-z0-9]{24}$/);
    expect(new Set(ids).size).toBe(2);
    const [first, second] = received as [{ request: Request; body: string }, { request: Request; body: string }];
    // The id is signed: a replay under a fresh id does not verify.
    expect(await receiverAccepts(first.request, first.body.replace(ids[0] as string, "msg_aaaaaaaaaaaaaaaaaaaaaaaa"), START_MS)).toBe(false);
    // A receiver that keeps the ids it saw inside the window takes each message once.
    const seen = new Set<string>();
    const take = async ({ request, body }: { request: Request; body: string }) => {
      const { id } = JSON.parse(body) as { id: string };
      if (!(await receiverAccepts(request, body, START_MS + 60_000)) || seen.has(id)) return false;
      seen.add(id);
      return true;
    };
    expect([await take(first), await take(first), await take(second)]).toEqual([true, false, true]);
  });

  it("a redirect from the hook is never followed: the delivery failed, logged without the link or where it pointed", async () => {
    const t = await seedTenant("mail");
    const elsewhere = "http://collector.attacker.example/mail";
    const posted = receiverThatRedirects(elsewhere);
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    expect(await send(withEnv({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET }), t.id)).toBe("failed");
    expect(posted).toEqual([HOOK_URL]);
    const logged = lines.join("\n");
    expect(logged).toContain("email hook delivery failed");
    expect(logged).toContain("HTTP 307");
    expect(logged).not.toContain("secretpart");
    expect(logged).not.toContain("attacker.example");
  });

  it("without EMAIL_WEBHOOK_URL nothing is sent", async () => {
    const t = await seedTenant("mail");
    const received = localReceiver();
    expect(await send(withEnv({}), t.id)).toBe("not_configured");
    expect(received).toHaveLength(0);
  });

  it("a failed delivery is reported to the caller and logged without the link or the address", async () => {
    const t = await seedTenant("mail");
    localReceiver(500);
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    expect(await send(withEnv({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET }), t.id)).toBe("failed");
    const logged = lines.join("\n");
    expect(logged).toContain("email hook delivery failed");
    expect(logged).toContain("HTTP 500");
    expect(logged).not.toContain("secretpart");
    expect(logged).not.toContain("new.person");
  });

  it("the hook's settings are validated at startup: https only, and a secret is required", () => {
    const refused = (vars: Record<string, string>) => {
      try {
        parseConfig(configured({ ...vars }));
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).message;
      }
      throw new Error("expected the configuration to be refused");
    };
    expect(refused({ EMAIL_WEBHOOK_URL: "http://product.example/hook", EMAIL_WEBHOOK_SECRET: SECRET })).toMatch(/^EMAIL_WEBHOOK_URL must use https/);
    expect(refused({ EMAIL_WEBHOOK_URL: "not a url", EMAIL_WEBHOOK_SECRET: SECRET })).toMatch(/^EMAIL_WEBHOOK_URL/);
    expect(refused({ EMAIL_WEBHOOK_URL: HOOK_URL })).toMatch(/^EMAIL_WEBHOOK_SECRET/);
    expect(refused({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: "short" })).toMatch(/^EMAIL_WEBHOOK_SECRET/);
    expect(parseConfig(configured({ EMAIL_WEBHOOK_URL: HOOK_URL, EMAIL_WEBHOOK_SECRET: SECRET })).emailWebhook).toEqual({ url: HOOK_URL, secret: SECRET });
    // The test environment has the hook off: wrangler.toml's EMAIL_WEBHOOK_URL is empty.
    expect(parseConfig(env).emailWebhook).toBeNull();
  });
});
