// Shared fixtures for the IP rules test files.
import { env } from "cloudflare:workers";
import { randomId } from "../src/lib/crypto";
import { tenantEdgeKey } from "../src/edge-document/document";
import { Harness, START_MS, type SeededTenant, type SeededUser, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

export const BASE = "/api/security/ip-rules";
export const HOME = "203.0.113.10"; // the harness's default CF-Connecting-IP

export type Rule = { id: string; action: "allow" | "deny"; cidr: string; description: string | null; createdBy: string | null; createdAt: string; updatedAt: string; expiresAt: string | null };

/** Signs in and earns the IP_RULE_CHANGE grant (one grant covers the 10-minute window). */
export async function editor(h: Harness, user: SeededUser) {
  const { cookie } = await h.session(user);
  await h.stepUp(cookie, "IP_RULE_CHANGE", user);
  return cookie;
}

/** Rules written straight to D1 (as an operator would), with the tenant's KV entry dropped. */
export async function seedRules(tenantId: string, rules: { action: "allow" | "deny"; cidr: string; expiresAt?: number }[]) {
  const ids = rules.map(() => randomId("ipr_"));
  if (rules.length > 0) {
    await env.DB.batch(
      rules.map((r, i) =>
        env.DB.prepare("INSERT INTO ip_rules (id, tenant_id, action, cidr, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)").bind(
          ids[i],
          tenantId,
          r.action,
          r.cidr,
          START_MS,
          START_MS,
          r.expiresAt ?? null,
        ),
      ),
    );
  }
  await env.SESSION_CACHE.delete(tenantEdgeKey(tenantId));
  return ids;
}

/** The tenant's rules as "action cidr", sorted (rules created in the same ms have no order). */
export async function storedCidrs(tenantId: string) {
  const rows = await env.DB.prepare("SELECT action, cidr FROM ip_rules WHERE tenant_id = ? ORDER BY created_at, id").bind(tenantId).all<{ action: string; cidr: string }>();
  return rows.results.map((r) => `${r.action} ${r.cidr}`).sort();
}

type AuditRow = { action: string; outcome: string; target_id: string | null; failure_reason: string | null; before: string | null; after: string | null };
export async function auditRows(tenantId: string, prefix = "IP_RULE_") {
  const rows = await auditStore.prepare("SELECT action, outcome, target_id, failure_reason, before, after FROM audit_logs WHERE tenant_id = ? AND action LIKE ? ORDER BY seq")
    .bind(tenantId, `${prefix}%`)
    .all<AuditRow>();
  return rows.results;
}

export async function setup(): Promise<{ h: Harness; t: SeededTenant; cookie: string }> {
  const h = new Harness();
  const t = await seedTenant("ipr");
  return { h, t, cookie: await editor(h, t.admin) };
}
