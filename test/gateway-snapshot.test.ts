// Session snapshots on the other entry points of the edge check: the gateway (product
// requests) and the RPC entrypoint (authenticate).
import { describe, expect, it } from "vitest";
import { keySetText } from "./gateway-fixtures";
import { Harness, seedTenant, withEnv } from "./helpers";
import { authenticate, realTimeHarness } from "./rpc-fixtures";
import { SNAPSHOT, browserSignIn, countingKv, env } from "./snapshot-fixtures";

function recordingOrigin(respond: () => Response = () => new Response("from the product")) {
  const cookies: (string | null)[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      cookies.push(new Request(input, init).headers.get("cookie"));
      return respond();
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, cookies };
}

const gatewayEnv = async (origin: Fetcher, extra: Partial<typeof env> = {}) =>
  withEnv({ ORIGIN: origin, ASSERTION_AUDIENCE: "acme-notes", PUBLIC_PATHS: '["/"]', ASSERTION_SIGNING_KEYS: await keySetText("k-snap"), ...extra });

describe("session snapshots through the gateway", () => {
  it("the snapshot cookie never reaches the origin, and the origin cannot set or clear it", async () => {
    const h = new Harness();
    const t = await seedTenant("gws");
    const { jar } = await browserSignIn(h, t.member);
    const origin = recordingOrigin(() => {
      const headers = new Headers();
      headers.append("set-cookie", `${SNAPSHOT}=forged; Path=/; Secure`);
      headers.append("set-cookie", "cart=4; Path=/");
      return new Response("ok", { headers });
    });
    const res = await h.call("/app", { env: await gatewayEnv(origin.binding), cookie: `cart=3; ${jar.header}` });
    expect(res.status).toBe(200);
    expect(origin.cookies[0]).toBe("cart=3");
    expect(res.headers.getSetCookie()).toEqual(["cart=4; Path=/"]);
  });

  it("a product request with a fresh snapshot makes no per-session read; a revocation between two product requests refuses the second", async () => {
    const h = new Harness();
    const t = await seedTenant("gws");
    const { jar, sessionId } = await browserSignIn(h, t.member);
    const other = await browserSignIn(h, t.member);
    const origin = recordingOrigin();
    const e = await gatewayEnv(origin.binding);
    expect((await h.call("/app", { env: e, cookie: jar.header })).status).toBe(200);
    h.clock.advanceSeconds(2);
    const kv = countingKv(env.SESSION_CACHE);
    expect((await h.call("/app", { env: { ...e, SESSION_CACHE: kv.kv }, cookie: jar.header })).status).toBe(200);
    expect(kv.reads.filter((k) => k.startsWith("session:"))).toEqual([]);

    await h.stepUp(other.jar.header, "REVOKE_SESSION", t.member);
    expect((await h.call(`/api/security/sessions/${sessionId}/revoke`, { cookie: other.jar.header, method: "POST" })).status).toBe(200);
    const res = await h.call("/app", { env: e, cookie: jar.header });
    expect(res.status).toBe(401);
    expect(origin.cookies).toHaveLength(2);
  });
});

describe("session snapshots through the RPC entrypoint", () => {
  it("authenticate with a snapshot cookie refuses a session revoked since the snapshot was issued", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("rpcs");
    const { jar } = await browserSignIn(h, t.member);
    expect(await authenticate(jar.header)).toMatchObject({ ok: true, user: { id: t.member.id } });
    expect((await h.call("/api/auth/logout", { cookie: jar.header, method: "POST" })).status).toBe(200);
    expect(await authenticate(jar.header)).toMatchObject({ ok: false, status: 401, error: "SESSION_REVOKED" });
  });
});
