/**
 * The tenant's edge document as D1 says it now (src/edge-document/document.ts): built
 * whole, in one batch, never from what KV holds (docs/consistency.md).
 */
import { and, asc, eq, gte } from "drizzle-orm";
import type { Db } from "../db/client";
import { cacheRebuilds, ipRules, sessionStateChanges, ssoConnections, tenants, userSessions } from "../db/schema";
import { compileRuleSet } from "../ip-rules/ruleset";
import { REVOKED_FINGERPRINT, TENANT_EDGE_FORMAT, TENANT_EDGE_MAX_BYTES, TENANT_EDGE_MAX_ENTRIES, TENANT_EDGE_WINDOW_MS, type TenantEdgeState } from "./document";

/** The document as D1 says it now, in one batch. */
export async function buildFromDb(db: Db, tenantId: string, nowMs: number): Promise<TenantEdgeState> {
  const since = nowMs - TENANT_EDGE_WINDOW_MS;
  const [ruleRows, changes, revoked, rebuilds] = await db.batch([
    // One row per rule, or one row without a rule; the connection is one per tenant at most.
    db
      .select({ name: tenants.name, requireTwoFactor: tenants.requireTwoFactor, requirePhishingResistant: tenants.requirePhishingResistant, requireSso: ssoConnections.requireSso, rule: ipRules })
      .from(tenants)
      .leftJoin(ssoConnections, eq(ssoConnections.tenantId, tenants.id))
      .leftJoin(ipRules, eq(ipRules.tenantId, tenants.id))
      .where(eq(tenants.id, tenantId))
      .orderBy(asc(ipRules.createdAt), asc(ipRules.id)),
    db
      .select()
      .from(sessionStateChanges)
      .where(and(eq(sessionStateChanges.tenantId, tenantId), gte(sessionStateChanges.changedAt, since))),
    db
      .select({ id: userSessions.id, revokedAt: userSessions.revokedAt })
      .from(userSessions)
      .where(and(eq(userSessions.tenantId, tenantId), gte(userSessions.revokedAt, since))),
    db.select({ at: cacheRebuilds.rebuiltAt }).from(cacheRebuilds).where(eq(cacheRebuilds.id, 1)),
  ]);
  const doc: TenantEdgeState = {
    format: TENANT_EDGE_FORMAT,
    tenantId,
    tenantName: ruleRows[0]?.name ?? "",
    rules: compileRuleSet(
      ruleRows.flatMap((r) => (r.rule ? [r.rule] : [])),
      nowMs,
    ),
    policy: {
      requireTwoFactor: ruleRows[0]?.requireTwoFactor ?? false,
      requirePhishingResistant: ruleRows[0]?.requirePhishingResistant ?? "off",
      requireSso: ruleRows[0]?.requireSso ?? false,
    },
    overflowUntil: 0,
    cacheRebuiltAt: rebuilds[0]?.at ?? 0,
    users: {},
    sessions: {},
  };
  for (const row of changes) (row.subjectType === "user" ? doc.users : doc.sessions)[row.subjectId] = { fp: row.fingerprint, at: row.changedAt };
  for (const row of revoked) doc.sessions[row.id] = { fp: REVOKED_FINGERPRINT, at: row.revokedAt ?? nowMs };
  const count = Object.keys(doc.users).length + Object.keys(doc.sessions).length;
  if (count <= TENANT_EDGE_MAX_ENTRIES && JSON.stringify(doc).length <= TENANT_EDGE_MAX_BYTES) return doc;
  return { ...doc, overflowUntil: nowMs + TENANT_EDGE_WINDOW_MS, users: {}, sessions: {} };
}
