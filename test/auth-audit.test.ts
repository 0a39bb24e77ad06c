// What sign-in leaves in the audit log: a right password for a TOTP user is visible,
// throttled retries do not flood the log, and writing a row never makes the answer
// for a known email differ from the answer for an unknown one.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LOGIN_EMAIL_ADDRESS_LIMIT, loginKeys } from "../src/auth/throttle";
import { Harness, PASSWORD, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { recordingD1 } from "./sign-in-fixtures";
import { auditStore } from "./audit-store";

let next = 1;
const freshIp = () => `198.19.${(next >> 8) & 255}.${next++ & 255}`;

type Row = { action: string; outcome: string; actor_user_id: string | null; failure_reason: string | null; metadata: string | null; ip: string | null };

async function loginRows(tenantId: string): Promise<Row[]> {
  const rows = await auditStore.prepare(
    "SELECT action, outcome, actor_user_id, failure_reason, metadata, ip FROM audit_logs WHERE tenant_id = ? AND action LIKE 'LOGIN_%' ORDER BY seq",
  )
    .bind(tenantId)
    .all<Row>();
  return rows.results;
}

/** Puts (email, address) at its limit, as if ten attempts had just failed. */
async function tripEmailAddress(email: string, ip: string, nowMs: number) {
  await env.DB.prepare("INSERT OR REPLACE INTO attempt_counters (key, failures, window_started_at) VALUES (?, ?, ?)")
    .bind(loginKeys.emailAddress(email, ip), LOGIN_EMAIL_ADDRESS_LIMIT.maxAttempts, nowMs)
    .run();
}

/** A D1 binding that holds every statement touching the audit tables until released. */
function gatedD1(inner: D1Database) {
  let release!: () => void;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { db: recordingD1(inner, [], { sql: /audit_logs|event_dedupe/, until }), release };
}

describe("sign-in audit", () => {
  it("a right password for a TOTP user leaves a LOGIN_FAILED row (SECOND_FACTOR_REQUIRED) naming the user", async () => {
    const h = new Harness();
    const t = await seedTenant("stuffed");
    const res = await h.call("/api/auth/login", { ip: freshIp(), body: { email: t.owner.email, password: PASSWORD } });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("TOTP_REQUIRED");
    expect(await loginRows(t.id)).toMatchObject([{ action: "LOGIN_FAILED", outcome: "FAIL", actor_user_id: t.owner.id, failure_reason: "SECOND_FACTOR_REQUIRED" }]);
  });

  it("throttled sign-ins write one row per email, address and minute, then one at each doubling, with the count", async () => {
    const h = new Harness();
    const t = await seedTenant("flood");
    const ip = freshIp();
    await tripEmailAddress(t.member.email, ip, h.clock.ms);
    for (let i = 0; i < 20; i++) {
      expect((await h.call("/api/auth/login", { ip, body: { email: t.member.email, password: PASSWORD } })).status).toBe(429);
    }
    const rows = await loginRows(t.id);
    expect(rows.map((r) => r.failure_reason)).toEqual(Array(5).fill("TOO_MANY_ATTEMPTS"));
    expect(rows.map((r) => JSON.parse(r.metadata ?? "{}").count)).toEqual([1, 2, 4, 8, 16]);
    expect(JSON.parse(rows[0]?.metadata ?? "{}")).toMatchObject({ throttle: "email-address" });

    // Another address, or the next minute, starts its own count.
    const other = freshIp();
    await tripEmailAddress(t.member.email, other, h.clock.ms);
    await h.call("/api/auth/login", { ip: other, body: { email: t.member.email, password: PASSWORD } });
    h.clock.advanceSeconds(60);
    await h.call("/api/auth/login", { ip, body: { email: t.member.email, password: PASSWORD } });
    const later = (await loginRows(t.id)).slice(5);
    expect(later.map((r) => [r.ip, JSON.parse(r.metadata ?? "{}").count])).toEqual([
      [other, 1],
      [ip, 1],
    ]);
  });

  it("a throttled sign-in for a known email answers before its audit row is written", async () => {
    const h = new Harness();
    const t = await seedTenant("async");
    const ip = freshIp();
    await tripEmailAddress(t.member.email, ip, h.clock.ms);
    const gate = gatedD1(env.DB);
    const ctx = createExecutionContext();
    const request = new Request(gatehouseUrl("/api/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: JSON.stringify({ email: t.member.email, password: PASSWORD }),
    });
    // With the audit tables held shut, the answer must still come.
    const res = await h.app.fetch(request, withEnv({ DB: gate.db }), ctx);
    expect(res.status).toBe(429);
    expect(await loginRows(t.id)).toEqual([]);

    gate.release();
    await waitOnExecutionContext(ctx);
    expect(await loginRows(t.id)).toMatchObject([{ action: "LOGIN_FAILED", failure_reason: "TOO_MANY_ATTEMPTS" }]);
  });
});
