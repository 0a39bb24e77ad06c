import { Hono } from "hono";
import { version } from "../package.json";
import type { AppEnv, Bindings } from "./env";
import { validate } from "./lib/validation";
import { z } from "./lib/zod";
import { log, withLogScope } from "./lib/log";

/**
 * GET /api/health: `{ ok: true }` with no dependency at all (load balancers, benchmarks).
 * GET /api/health?deep=1: also asks D1 (`SELECT 1`) and KV (a get of a fixed key), each
 * within `timeoutMs`, and answers 200 `{ ok: true, d1: "ok", kv: "ok", version, deployment }`
 * or 503 `{ ok: false, d1, kv, version, deployment }` naming the one that failed ("error") or
 * hung ("timeout"). `version` is package.json's, bundled at build time; `deployment` is the
 * deployed Worker version from the CF_VERSION_METADATA binding (`{ id, tag, timestamp }`,
 * null without the binding). Errors are logged with the answer's X-Request-Id, never returned.
 */
export type HealthOptions = { timeoutMs?: number };

export type DependencyStatus = "ok" | "error" | "timeout";

const DEFAULT_TIMEOUT_MS = 2_000;
/** Read by the deep check; it never exists, a null answer is a healthy one. */
export const HEALTH_PROBE_KEY = "health:probe";

const healthQuery = z.strictObject({ deep: z.enum(["0", "1"]).optional() });

async function probe(name: string, check: () => Promise<unknown>, timeoutMs: number): Promise<DependencyStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const answered = (async () => {
    await check();
    return "ok" as const;
  })().catch((err: unknown) => {
    log.error("health", { dependency: name, error: err instanceof Error ? err.name : typeof err });
    return "error" as const;
  });
  try {
    const status = await Promise.race([answered, timedOut]);
    if (status === "timeout") log.error("health", { dependency: name, error: "timeout", timeoutMs });
    return status;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Both probes run in parallel: the deep answer takes at most one timeout. */
async function dependencyHealth(env: Pick<Bindings, "DB" | "SESSION_CACHE">, timeoutMs: number) {
  const [d1, kv] = await Promise.all([
    probe("d1", () => env.DB.prepare("SELECT 1").first(), timeoutMs),
    probe("kv", () => env.SESSION_CACHE.get(HEALTH_PROBE_KEY), timeoutMs),
  ]);
  return { d1, kv };
}

/** The deployed Worker version (CF_VERSION_METADATA): its id, tag and upload time; null when unbound. */
function deploymentOf(env: Pick<Bindings, "CF_VERSION_METADATA">): { id: string; tag: string; timestamp: string } | null {
  const meta = env.CF_VERSION_METADATA;
  return meta ? { id: meta.id, tag: meta.tag, timestamp: meta.timestamp } : null;
}

export function healthRoutes(options: HealthOptions = {}) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Hono<AppEnv>().get("/", validate("query", healthQuery), async (c) => {
    // A cached answer would hide an outage.
    c.header("Cache-Control", "no-store");
    if (c.req.valid("query").deep !== "1") return c.json({ ok: true });
    // No middleware runs here: the deep check gets its own id, for its log lines and the client.
    const requestId = crypto.randomUUID();
    c.header("X-Request-Id", requestId);
    const { d1, kv } = await withLogScope(requestId, () => dependencyHealth(c.env, timeoutMs));
    const ok = d1 === "ok" && kv === "ok";
    return c.json({ ok, d1, kv, version, deployment: deploymentOf(c.env) }, ok ? 200 : 503);
  });
}
