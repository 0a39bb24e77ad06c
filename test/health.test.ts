import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { version } from "../package.json";
import { createApp } from "../src/app";
import type { AppEnv, Bindings } from "../src/env";
import { HEALTH_PROBE_KEY, healthRoutes } from "../src/health";

const HEALTH_URL = "https://gatehouse.test/_gatehouse/api/health";

type HealthBody = { ok: boolean; d1?: string; kv?: string; version?: string; deployment?: unknown; error?: string };

/** A binding that records every use and fails the test's expectations if touched. */
function untouchable<T>(used: string[], name: string): T {
  return new Proxy({}, {
    get(_target, prop) {
      used.push(`${name}.${String(prop)}`);
      throw new Error(`${name} must not be used`);
    },
  }) as T;
}

const never = () => new Promise<never>(() => {});
const failingDb = { prepare: () => ({ first: () => Promise.reject(new Error("D1_ERROR: database secret-path unavailable")) }) } as unknown as D1Database;
const hangingDb = { prepare: () => ({ first: never }) } as unknown as D1Database;
const failingKv = { get: () => Promise.reject(new Error("KV GET failed: 503")) } as unknown as KVNamespace;
const hangingKv = { get: never } as unknown as KVNamespace;

type Requester = { request: (url: string, init: RequestInit, env: Bindings) => Response | Promise<Response> };

/** The app with a deep-health timeout short enough that a hang ends the test quickly. */
const withTimeout = (timeoutMs: number) => new Hono<AppEnv>().route("/_gatehouse/api/health", healthRoutes({ timeoutMs }));

/** The deployed version as the CF_VERSION_METADATA binding describes it. */
const DEPLOYED = { id: "3f7a9c1e-0000-4000-8000-000000000001", tag: "release-42", timestamp: "2026-11-30T09:00:00.000Z" };
const deployment = DEPLOYED;

async function deepHealth(bindings: Partial<Bindings>, app: Requester = createApp()) {
  const res = await app.request(`${HEALTH_URL}?deep=1`, {}, { ...env, CF_VERSION_METADATA: DEPLOYED, ...bindings });
  return { status: res.status, body: (await res.json()) as HealthBody, cacheControl: res.headers.get("cache-control"), requestId: res.headers.get("x-request-id") };
}

describe("health", () => {
  it("the plain health answer touches neither D1 nor KV", async () => {
    const used: string[] = [];
    const res = await createApp().request(HEALTH_URL, {}, {
      ...env,
      DB: untouchable<D1Database>(used, "DB"),
      SESSION_CACHE: untouchable<KVNamespace>(used, "SESSION_CACHE"),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(used).toEqual([]);
  });

  it("the deep health answer is 200 with D1, KV and the build's version when both answer", async () => {
    const out = await deepHealth({});
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true, d1: "ok", kv: "ok", version, deployment });
    expect(out.cacheControl).toBe("no-store");
  });

  it("the deep health answer reports the deployed version from the version metadata binding, and null without it", async () => {
    expect((await deepHealth({})).body.deployment).toEqual(DEPLOYED);
    expect((await deepHealth({ CF_VERSION_METADATA: undefined })).body).toMatchObject({ ok: true, version, deployment: null });
  });

  it("a failing dependency is logged with the deep answer's request id, and only its error name", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    const out = await deepHealth({ DB: failingDb });
    vi.restoreAllMocks();
    expect(out.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([{ level: "error", msg: "health", dependency: "d1", error: "Error", requestId: out.requestId }]);
  });

  it("the deep health answer asks KV for its fixed probe key", async () => {
    const keys: string[] = [];
    const recordingKv = { get: (key: string) => (keys.push(key), Promise.resolve(null)) } as unknown as KVNamespace;
    expect((await deepHealth({ SESSION_CACHE: recordingKv })).status).toBe(200);
    expect(keys).toEqual([HEALTH_PROBE_KEY]);
  });

  it("the deep health answer is 503 naming D1 when D1 fails, and leaks no error text", async () => {
    const out = await deepHealth({ DB: failingDb });
    expect(out.status).toBe(503);
    expect(out.body).toEqual({ ok: false, d1: "error", kv: "ok", version, deployment });
    expect(JSON.stringify(out.body)).not.toContain("secret-path");
  });

  it("the deep health answer is 503 naming KV when KV fails", async () => {
    const out = await deepHealth({ SESSION_CACHE: failingKv });
    expect(out.status).toBe(503);
    expect(out.body).toEqual({ ok: false, d1: "ok", kv: "error", version, deployment });
  });

  it("a hanging KV makes the deep health answer 503 once its timeout passes, not never", async () => {
    // The test can only finish if the timeout ends the wait: the KV get never settles.
    const answeringDb = { prepare: () => ({ first: () => Promise.resolve({ 1: 1 }) }) } as unknown as D1Database;
    const out = await deepHealth({ SESSION_CACHE: hangingKv, DB: answeringDb }, withTimeout(20));
    expect(out.status).toBe(503);
    expect(out.body).toEqual({ ok: false, d1: "ok", kv: "timeout", version, deployment });
  });

  it("a hanging D1 makes the deep health answer 503 once its timeout passes, not never", async () => {
    const out = await deepHealth({ DB: hangingDb }, withTimeout(20));
    expect(out.status).toBe(503);
    expect(out.body).toMatchObject({ ok: false, d1: "timeout", version, deployment });
  });

  it("an unknown health query is refused with 400 VALIDATION_FAILED", async () => {
    const res = await createApp().request(`${HEALTH_URL}?deep=yes`, {}, env);
    expect(res.status).toBe(400);
    expect(((await res.json()) as HealthBody).error).toBe("VALIDATION_FAILED");
  });
});
