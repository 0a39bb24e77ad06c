import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppEnv } from "../src/env";
import { handleError } from "../src/errors";
import { errorSummary } from "../src/lib/log";
import { assignRequestId } from "../src/lib/request-meta";
import worker from "../src/index";
import { Harness, START_MS, d1WithTableGone, seedTenant, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("logs never carry a query's parameters", () => {
  it("a query error is summarised by its name and its cause, never its SQL or bound values", () => {
    const err = new Error('Failed query: insert into "users" ("email") values (?)\nparams: alice@acme.test', { cause: new Error("D1_ERROR: UNIQUE constraint failed: users.email") });
    err.name = "DrizzleQueryError";
    const summary = errorSummary(err);
    expect(summary).toContain("UNIQUE constraint failed");
    expect(summary).not.toContain("alice@acme.test");
    expect(summary).not.toContain("insert into");
  });

  it("a database error on the session check is logged without the session id it queried for", async () => {
    const lines: string[] = [];
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    h.clock.advanceSeconds(2); // past the in-isolate copy: the check must read D1
    const sessionsGone = d1WithTableGone(env.DB, "user_sessions");
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    const res = await h.call("/api/me", { cookie, env: withEnv({ DB: sessionsGone }) });
    expect(res.status).toBe(503);
    const logged = lines.join("\n");
    expect(logged).toContain("auth state unavailable");
    expect(logged).toContain("no such table");
    expect(logged).not.toContain(sessionId);
  });
});

/** Every line the worker writes to the console while `fn` runs, parsed (a line that is not JSON fails the test). */
async function captureLogLines(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const raw: string[] = [];
  for (const method of ["log", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((line: unknown) => void raw.push(String(line)));
  try {
    await fn();
  } finally {
    vi.restoreAllMocks();
  }
  return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every source file of the worker, read at build time by vite (works inside the workerd pool). */
const SOURCES = import.meta.glob<string>("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });

describe("structured logs", () => {
  it("nothing in the worker writes to the console except the one logger", () => {
    const writers = Object.entries(SOURCES)
      .filter(([path, source]) => path !== "../src/lib/log.ts" && /\bconsole\s*\./.test(source))
      .map(([path]) => path);
    expect(Object.keys(SOURCES).length).toBeGreaterThan(50);
    expect(writers).toEqual([]);
  });

  it("every log line is one JSON object carrying the id of the request that wrote it", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { cookie, sessionId } = await h.login(t.member.email);
    await env.SESSION_CACHE.delete(`session:${sessionId}`);
    h.clock.advanceSeconds(2);
    let requestId: string | null = null;
    const lines = await captureLogLines(async () => {
      const res = await h.call("/api/me", { cookie, env: withEnv({ DB: d1WithTableGone(env.DB, "user_sessions") }) });
      requestId = res.headers.get("x-request-id");
    });
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ level: "error", msg: expect.any(String), requestId });
  });

  /** A route that fails unexpectedly, quoting a bearer token from its request header in its message. */
  const TOKEN = "sess_0123.Zq9xY2vB7nK4mP1sT8wE3rU6iO5aL0dF";
  async function unexpectedFailure() {
    const app = new Hono<AppEnv>()
      .use(assignRequestId())
      .get("/boom/:id", (c) => {
        throw new TypeError(`upstream refused header Authorization: ${c.req.header("authorization")}`);
      });
    app.onError(handleError);
    let res: Response | undefined;
    const lines = await captureLogLines(async () => {
      res = await app.request("/boom/42", { headers: { authorization: `Bearer ${TOKEN}` } }, env);
    });
    return { res: res as Response, lines };
  }

  it("an unexpected error is logged once with its route, error name, message and stack frames", async () => {
    const { res, lines } = await unexpectedFailure();
    expect(res.status).toBe(500);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({ level: "error", msg: "unexpected error", route: "GET /boom/:id", errorName: "TypeError", requestId: res.headers.get("x-request-id") });
    expect(String(line?.error)).toContain("TypeError: upstream refused header Authorization: Bearer");
    expect(String(line?.stack)).toMatch(/^at /);
  });

  it("a token-like string an error quotes from a header is masked in its log line", async () => {
    const { lines } = await unexpectedFailure();
    expect(lines).toHaveLength(1);
    expect(String(lines[0]?.error)).toContain("[redacted]");
    expect(JSON.stringify(lines)).not.toContain("Zq9xY2vB7nK4mP1sT8wE3rU6iO5aL0dF");
  });

  it("a cron job that fails is logged as an error through the one logger, never an unhandled rejection", async () => {
    const ctx = createExecutionContext();
    const broken = withEnv({ DB: d1WithTableGone(env.DB, "retention_cursors") });
    const lines = await captureLogLines(async () => {
      await worker.scheduled(createScheduledController({ scheduledTime: START_MS, cron: "17 * * * *" }), broken, ctx);
      await waitOnExecutionContext(ctx);
    });
    const failed = lines.find((line) => line.msg === "retention failed");
    expect(failed).toMatchObject({ level: "error", errorName: expect.any(String) });
    expect(String(failed?.stack)).toMatch(/^at /);
    expect(JSON.stringify(failed)).not.toContain("SELECT");
  });

  it("upper-case secrets (base32 TOTP secrets, upper-case hex) are masked in a log line; names without digits stay readable", () => {
    const base32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const hex = "DEADBEEF0123456789ABCDEF0123456789ABCDEF";
    const summary = errorSummary(new Error(`bad secret ${base32} or ${hex} in AUDIT_RETENTION_DAYS`));
    expect(summary).not.toContain(base32);
    expect(summary).not.toContain(hex);
    expect(summary).toContain("AUDIT_RETENTION_DAYS");
  });

  it("a cron run's log lines all carry that run's own id", async () => {
    const ctx = createExecutionContext();
    const lines = await captureLogLines(async () => {
      await worker.scheduled(createScheduledController({ scheduledTime: START_MS, cron: "17 * * * *" }), withEnv({ AUDIT_CHECKPOINT_KEY: undefined }), ctx);
      await waitOnExecutionContext(ctx);
    });
    expect(lines.map((line) => line.msg).sort()).toEqual(["audit anchors", "audit anchors refused: AUDIT_CHECKPOINT_KEY is missing or invalid", "audit outbox", "audit pruning refused: AUDIT_CHECKPOINT_KEY is missing or invalid", "audit stream", "key rotation", "retention", "webhook requests owed"]);
    const [first, ...rest] = lines;
    expect(first?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    for (const line of rest) expect(line.requestId).toBe(first?.requestId);
  });
});
