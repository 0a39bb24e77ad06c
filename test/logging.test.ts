import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorSummary } from "../src/lib/log";
import { Harness, d1WithTableGone, seedTenant, withEnv } from "./helpers";

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
