import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorSummary } from "../src/lib/log";
import { Harness, d1WithBrokenAudit, seedTenant, withEnv } from "./helpers";

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

  it("an unexpected 500 logs the route and the error's cause, not the row it tried to write", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.signIn(t.owner);
    await h.stepUp(owner.cookie, "ROLE_CHANGE", t.owner);
    const res = await h.call(`/api/users/${t.member.id}/role`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { role: "admin" },
      ip: "198.51.100.77",
      env: withEnv({ DB: d1WithBrokenAudit(env.DB) }),
    });
    expect(res.status).toBe(500);
    const logged = lines.join("\n");
    expect(logged).toContain("PATCH /_gatehouse/api/users/:id/role");
    expect(logged).not.toContain("198.51.100.77");
    expect(logged).not.toContain(t.member.id);
  });
});
