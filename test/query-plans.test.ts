/**
 * The queries behind the pages the bench grows the tables for must walk an index in
 * order: no full table scan and no sort of the matching rows, or their cost grows
 * with the table instead of staying flat. The SQL is captured from the real routes
 * (not rebuilt here), then explained with the same parameters. `npm run bench` runs
 * this file too and reports it beside the timings.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { productActionsQuery, searchPage } from "../src/audit/query";
import { type AuditDb, openAuditStore } from "../src/tenant-object/audit-store";
import { describe, expect, it } from "vitest";
import { Harness, seedTenant, withEnv } from "./helpers";

type Captured = { sql: string; params: unknown[] };

/** A D1 binding that keeps every statement prepared through it, with its parameters. */
function recordingD1(inner: D1Database) {
  const statements: Captured[] = [];
  const db = new Proxy(inner, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          const entry: Captured = { sql, params: [] };
          statements.push(entry);
          const stmt = target.prepare(sql);
          return new Proxy(stmt, {
            get(s, p) {
              if (p === "bind") {
                return (...params: unknown[]) => {
                  entry.params = params;
                  return s.bind(...params);
                };
              }
              const v = Reflect.get(s, p, s);
              return typeof v === "function" ? v.bind(s) : v;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, statements };
}

/** Runs a GET through the app and returns the plan of each statement that reads `table`. */
async function plansFor(path: string, table: string) {
  const h = new Harness();
  const t = await seedTenant("plans");
  const { cookie } = await h.signIn(t.owner);
  const rec = recordingD1(env.DB);
  const res = await h.call(path, { cookie, env: withEnv({ DB: rec.db }) });
  expect(res.status).toBe(200);
  const reads = rec.statements.filter((s) => /^\s*(select|with)\b/i.test(s.sql) && s.sql.includes(`"${table}"`));
  expect(reads.length).toBeGreaterThan(0);
  return Promise.all(
    reads.map(async (s) => {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).bind(...s.params).all<{ detail: string }>();
      return { sql: s.sql, plan: results.map((r) => r.detail) };
    }),
  );
}

/** The plans, in a tenant's object, of the audit queries `build` names. */
async function auditPlans(build: (db: AuditDb, tenantId: string) => { sql: string; params: unknown[] }[]) {
  const t = await seedTenant("audit-plans");
  const stub = env.TENANT.get(env.TENANT.idFromName(t.id));
  return runInDurableObject(stub, (_instance, state) =>
    build(openAuditStore(state.storage), t.id).map(({ sql, params }) => ({
      sql,
      plan: state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...(params as SqlStorageValue[])).toArray().map((r) => r.detail),
    })),
  );
}

function expectIndexedInOrder(plans: { sql: string; plan: string[] }[], table: string, index: string) {
  for (const { sql, plan } of plans) {
    const text = `${sql}\n  ${plan.join("\n  ")}`;
    expect(plan.some((d) => d.includes(`USING INDEX ${index}`) || d.includes(`USING COVERING INDEX ${index}`)), text).toBe(true);
    expect(plan.some((d) => new RegExp(`^SCAN ${table}\\b(?! USING)`).test(d)), text).toBe(false);
    expect(plan.some((d) => d.includes("USE TEMP B-TREE")), text).toBe(false);
  }
}

describe("query plans of the pages whose tables grow", () => {
  it("the session list walks user_sessions_user_last_seen_idx", async () => {
    expectIndexedInOrder(await plansFor("/api/security/sessions", "user_sessions"), "user_sessions", "user_sessions_user_last_seen_idx");
  });

  // The audit log lives in the tenant's object (src/tenant-object/audit-store.ts): its
  // queries are the ones the object's methods run (src/audit/query.ts), explained there.
  it("the first audit page walks the chain's seq (its primary key) in order, newest first", async () => {
    const [plan] = await auditPlans((db, tenantId) => [searchPage(db, tenantId, {}, 51, null).toSQL()]);
    expect(plan?.plan.some((d) => d.includes("USE TEMP B-TREE")), plan?.sql).toBe(false);
    expect(plan?.plan.some((d) => /^SCAN audit_logs\b/.test(d)), plan?.sql).toBe(true);
  });

  it("an audit page filtered by action walks audit_logs_action_idx", async () => {
    expectIndexedInOrder(await auditPlans((db, tenantId) => [searchPage(db, tenantId, { action: "LOGIN_FAILED" }, 51, null).toSQL()]), "audit_logs", "audit_logs_action_idx");
  });

  it("the product action list seeks audit_logs_action_idx, once per distinct action", async () => {
    expectIndexedInOrder(await auditPlans((_db, tenantId) => [productActionsQuery(tenantId)]), "audit_logs", "audit_logs_action_idx");
  });
});
