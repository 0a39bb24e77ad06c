import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditAction } from "../src/audit/actions";
import { WEBHOOK_EVENTS, WEBHOOK_TYPES } from "../src/webhooks/events";
import { auditRowsOf } from "./audit-store";
import { Harness, seedTenant } from "./helpers";
import { configureWebhooks, runWebhookQueue } from "./webhook-fixtures";
import { tenantObject } from "../src/tenant-object/stub";

let hooks: ReturnType<typeof configureWebhooks> | null = null;
afterEach(() => {
  hooks?.restore();
  hooks = null;
});

/** A SUCCESS row of `action` as its route writes it (the fields the table reads), straight into D1's outbox. */
function rowOf(tenantId: string, action: AuditAction, i: number, nowMs: number) {
  const metadata: Record<string, unknown> = { revokedSessionIds: [`ses_${i}`], endedSessions: action === "TENANT_DISABLED" ? 2 : [`ses_${i}`], sessionUserId: "usr_a", sessionId: "ses_admin", reason: "EXIT" };
  if (action === "LOGIN_SUCCEEDED") metadata.provisioned = true;
  const after = { userId: "usr_new", email: "new@example.test", role: "member", revokeReason: "REVOKED", expiresAt: "2026-11-30T13:00:00.000Z" };
  return env.DB.prepare(
    "INSERT INTO audit_outbox (id, tenant_id, actor_user_id, is_impersonating, action, outcome, target_type, target_id, after, metadata, created_at) VALUES (?, ?, 'usr_actor', 0, ?, 'SUCCESS', 'user', ?, ?, ?, ?)",
  ).bind(`aud_${i}_${action.toLowerCase()}`, tenantId, action, action === "SESSION_CREATED" || action === "LOGOUT" || action === "SESSION_REVOKED" ? `ses_${i}` : "usr_target", JSON.stringify(after), JSON.stringify(metadata), nowMs + i);
}

describe("the audit action → webhook table", () => {
  it("each mapped action's SUCCESS row produces its webhook once, in chain order; refusals and other actions produce none", async () => {
    const w = (hooks = configureWebhooks());
    const h = new Harness();
    const t = await seedTenant();
    // The cursor starts at the first append while webhooks are on.
    await h.login(t.member.email);
    await runWebhookQueue(w.pokes, h.clock.ms);
    const before = w.received.length;
    const actions = Object.keys(WEBHOOK_EVENTS) as AuditAction[];
    await env.DB.batch([
      ...actions.map((a, i) => rowOf(t.id, a, i, h.clock.ms)),
      env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, action, outcome, created_at) VALUES ('aud_refused', ?, 'USER_DISABLED', 'FAIL', ?)").bind(t.id, h.clock.ms),
      env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, action, outcome, created_at) VALUES ('aud_other', ?, 'IP_RULE_CREATED', 'SUCCESS', ?)").bind(t.id, h.clock.ms),
    ]);
    await tenantObject(env, t.id).drainAudit(t.id);
    await runWebhookQueue(w.pokes, h.clock.ms);
    // Twice more: nothing is sent again once taken.
    w.pokes.push({ kind: "deliver", tenantId: t.id }, { kind: "deliver", tenantId: t.id });
    await runWebhookQueue(w.pokes, h.clock.ms);
    const got = w.received.slice(before);
    expect(got.map((r) => [r.id, r.payload.type])).toEqual(actions.map((a, i) => [`aud_${i}_${a.toLowerCase()}`, WEBHOOK_EVENTS[a]?.type]));
    const chain = await auditRowsOf(t.id);
    for (const r of got) expect(r.payload.data.seq).toBe(chain.find((row) => row.id === r.id)?.seq);
    expect(new Set(got.map((r) => r.payload.type))).toEqual(new Set(WEBHOOK_TYPES));
  });

  it("a row that ended no session sends no session.revoked, and a sign-in that created nobody no user.created", async () => {
    const w = (hooks = configureWebhooks());
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    await env.DB.batch([
      env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, action, outcome, target_id, metadata, created_at) VALUES ('aud_pw', ?, 'PASSWORD_CHANGED', 'SUCCESS', ?, ?, ?)").bind(t.id, t.member.id, JSON.stringify({ endOtherSessions: true, revokedSessionIds: [] }), h.clock.ms),
      env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, action, outcome, target_id, metadata, created_at) VALUES ('aud_in', ?, 'LOGIN_SUCCEEDED', 'SUCCESS', ?, ?, ?)").bind(t.id, t.member.id, JSON.stringify({ method: "password" }), h.clock.ms),
    ]);
    await tenantObject(env, t.id).drainAudit(t.id);
    await runWebhookQueue(w.pokes, h.clock.ms);
    expect(w.received.map((r) => r.payload.type)).toEqual(["session.created"]);
  });
});
