import { env } from "cloudflare:workers";
import fc from "fast-check";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type AuditEvent, commitWithAudit } from "../src/audit/service";
import { checkpointKey } from "../src/audit/checkpoint";
import { createDb } from "../src/db/client";
import type { AppEnv } from "../src/env";
import { randomId } from "../src/lib/crypto";
import { Harness, START_MS, seedTenant } from "./helpers";
import { auditStore, verifyChainOf } from "./audit-store";

type Verify = { ok: boolean; checked: number; firstBrokenSeq: number | null };

// Text that storage, JSON and hashing each treat differently if nobody normalises it.
const hostileUnit = fc.oneof(
  fc.constantFrom("\u0000", "\uD83D", "\uDE00", "😀", "\u{10FFFF}", "\u202E", "\u200F", "\uFEFF", "\uFFFF", "\uFFFD", "e\u0301", "\\", '"', "'", "\u2028", "%s", "__proto__"),
  fc.string({ unit: "binary", maxLength: 4 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
);
const hostileText = fc.oneof(
  fc.array(hostileUnit, { maxLength: 12 }).map((parts) => parts.join("")),
  // Long strings ending in a hostile unit: where a cut by UTF-16 units splits a pair.
  fc.tuple(fc.integer({ min: 500, max: 1100 }), hostileUnit).map(([n, unit]) => "a".repeat(n) + unit),
);
const hostileJson = fc.dictionary(hostileText, fc.oneof(hostileText, fc.integer(), fc.boolean(), fc.constant(null), fc.array(hostileText, { maxLength: 3 })), {
  maxKeys: 4,
  noNullPrototype: true,
});

/** The real write path (commitWithAudit) behind a request carrying `userAgent`. */
async function writeRows(tenantId: string, userAgent: string, events: AuditEvent[]) {
  const app = new Hono<AppEnv>().post("/", async (c) => {
    c.set("now", START_MS);
    c.set("db", createDb(c.env.DB));
    c.set("requestId", randomId("req_"));
    await commitWithAudit(c, [], events.map((e) => ({ ...e, tenantId })));
    return c.body(null, 204);
  });
  // A header cannot hold NUL, CR or LF at all; everything else goes through as UTF-8.
  const headers = { "user-agent": userAgent.replace(/[\0\r\n]/g, "") || "x" };
  const res = await app.fetch(new Request("https://gatehouse.test/", { method: "POST", headers }), env);
  expect(res.status).toBe(204);
}

describe("the chain verifies whatever text its rows hold", () => {
  it("a failed sign-in whose user agent is cut inside a surrogate pair leaves the tenant's chain verifiable", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const userAgent = `${"a".repeat(511)}😀 and more`;
    const res = await h.call("/api/auth/login", { body: { email: t.member.email, password: "wrong password" }, headers: { "user-agent": userAgent } });
    expect(res.status).toBe(401);
    const stored = await auditStore.prepare("SELECT user_agent FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED'").bind(t.id).first<{ user_agent: string }>();
    // Whole code points: the emoji is kept entire (512 code points), never half of it.
    expect(stored?.user_agent).toBe(`${"a".repeat(511)}😀`);
    const owner = await h.session(t.owner);
    const verify = await h.call<Verify>("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it("hostile Unicode in every stored text field (user agent, reason, ids, before/after, metadata keys and values) never breaks verification", async () => {
    const key = await checkpointKey(env);
    if (!key) throw new Error("AUDIT_CHECKPOINT_KEY missing in the test environment");
    await fc.assert(
      fc.asyncProperty(hostileText, hostileText, hostileText, hostileText, hostileJson, hostileJson, async (userAgent, reason, targetId, description, meta, nested) => {
        const tenantId = randomId("ten_");
        await writeRows(tenantId, userAgent, [
          {
            action: "IP_RULE_UPDATED",
            outcome: "FAIL",
            targetType: "ip_rule",
            targetId,
            failureReason: reason,
            before: { description },
            after: { description: reason, nested },
            metadata: meta,
          },
          { action: "LOGIN_FAILED", outcome: "FAIL", failureReason: description, metadata: { [description]: [reason, targetId] } },
        ]);
        const result = await verifyChainOf(tenantId, START_MS);
        expect(result).toMatchObject({ ok: true, checked: 2, firstBrokenSeq: null });
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
