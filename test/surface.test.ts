import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { DEFAULT_GATEHOUSE_PATH, parseConfig } from "../src/config";
import { Harness, configured, seedTenant, withEnv } from "./helpers";

/** A stand-in for the ASSETS binding: records what it was asked and answers like the panel build. */
function fakeAssets() {
  const asked: string[] = [];
  const binding = {
    async fetch(input: RequestInfo | URL) {
      const url = new URL(input instanceof Request ? input.url : String(input));
      asked.push(url.pathname);
      if (url.pathname.startsWith("/assets/")) return new Response("export {}", { headers: { "content-type": "text/javascript" } });
      return new Response('<!doctype html><html><head><script type="module" src="/_gatehouse/assets/index.js"></script></head><body></body></html>', {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
  return { binding, asked };
}

describe("Gatehouse's own surface lives under one path; the rest of the host is not its", () => {
  it("the API answers under the Gatehouse path and nowhere else", async () => {
    const app = createApp();
    const { env } = await import("cloudflare:workers");
    expect((await app.request("https://gatehouse.test/_gatehouse/api/health", {}, env)).status).toBe(200);
    const bare = await app.request("https://gatehouse.test/api/health", {}, env);
    expect(bare.status).toBe(404);
    expect(((await bare.json()) as { error: string }).error).toBe("NOT_FOUND");
  });

  it("an unknown API path is a JSON error (401 without a session, as every API path), never the panel's page", async () => {
    const assets = fakeAssets();
    const res = await new Harness().call("/_gatehouse/api/no-such-thing", { env: withEnv({ ASSETS: assets.binding }) });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("UNAUTHORIZED");
    expect(assets.asked).toEqual([]);
  });

  it("standalone, the host's root and the bare Gatehouse path lead to the panel", async () => {
    const h = new Harness();
    const root = await h.call("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/_gatehouse/");
    const bare = await h.call("/_gatehouse");
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/_gatehouse/");
  });

  it("panel pages are looked up without the Gatehouse path and get the strict security headers", async () => {
    const assets = fakeAssets();
    const res = await new Harness().call("/_gatehouse/security/sessions", { env: withEnv({ ASSETS: assets.binding }) });
    expect(res.status).toBe(200);
    expect(assets.asked).toEqual(["/security/sessions"]);
    expect(String(res.body)).toContain("<!doctype html>");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("API answers carry a JSON API's security headers: no framing, no sniffing, no caching, no referrer, same-origin reads, HSTS", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.login(t.member.email);
    for (const res of [await h.call("/api/me", { cookie }), await h.call("/api/me")]) {
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cross-origin-resource-policy")).toBe("same-origin");
      expect(res.headers.get("strict-transport-security")).toBe("max-age=63072000; includeSubDomains");
      // Document-only and legacy headers do nothing for JSON: left off.
      for (const name of ["cross-origin-opener-policy", "origin-agent-cluster", "x-dns-prefetch-control", "x-download-options", "x-permitted-cross-domain-policies", "x-xss-protection"]) {
        expect(res.headers.get(name), name).toBeNull();
      }
    }
  });

  it("panel files are looked up without the Gatehouse path and keep their bytes", async () => {
    const assets = fakeAssets();
    const res = await new Harness().call("/_gatehouse/assets/index.js", { env: withEnv({ ASSETS: assets.binding }) });
    expect(assets.asked).toEqual(["/assets/index.js"]);
    expect(res.body).toBe("export {}");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("another Gatehouse path moves everything with it", async () => {
    const app = createApp({ basePath: "/auth/gh" });
    const { env } = await import("cloudflare:workers");
    const health = await app.request("https://gatehouse.test/auth/gh/api/health", {}, env);
    expect(health.status).toBe(200);
    const root = await app.request("https://gatehouse.test/", {}, env);
    expect(root.headers.get("location")).toBe("/auth/gh/");
  });
});

describe("GATEHOUSE_PATH is validated at startup", () => {
  it("defaults to /_gatehouse", () => {
    expect(parseConfig(configured({})).gatehousePath).toBe(DEFAULT_GATEHOUSE_PATH);
    expect(parseConfig(configured({ GATEHOUSE_PATH: "" })).gatehousePath).toBe(DEFAULT_GATEHOUSE_PATH);
    expect(parseConfig(configured({ GATEHOUSE_PATH: "/auth/gh" })).gatehousePath).toBe("/auth/gh");
  });

  it.each(["/", "_gatehouse", "/_gatehouse/", "//evil.test", "/a b", "/A", '/x"><script>', "/a//b"])("refuses %j with the variable's name", (value) => {
    expect(() => parseConfig(configured({ GATEHOUSE_PATH: value }))).toThrow(/GATEHOUSE_PATH/);
  });
});

describe("gateway mode's settings are validated at startup too", () => {
  it("an origin without an audience, or with a bad PUBLIC_PATHS, stops the worker with the variable's name", () => {
    expect(() => parseConfig(configured({ ORIGIN_URL: "https://origin.test" }))).toThrow(/ASSERTION_AUDIENCE/);
    expect(() => parseConfig(configured({ ORIGIN_URL: "https://origin.test", ASSERTION_AUDIENCE: "acme", PUBLIC_PATHS: "[1]" }))).toThrow(/PUBLIC_PATHS/);
    expect(() => parseConfig(configured({ ORIGIN_URL: "https://origin.test/app", ASSERTION_AUDIENCE: "acme" }))).toThrow(/ORIGIN_URL/);
  });

  it("no origin configured: a standalone Gatehouse", () => {
    expect(parseConfig(configured({})).gateway).toBeNull();
    expect(parseConfig(configured({ ORIGIN_URL: "https://origin.test", ASSERTION_AUDIENCE: "acme" })).gateway).toMatchObject({ originUrl: "https://origin.test", audience: "acme" });
  });
});
