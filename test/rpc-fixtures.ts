// Shared fixtures for the RPC entrypoint's tests: every call goes through env.GATEHOUSE,
// a real service binding to this Worker's GatehouseService (vitest.config.ts).
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { AuditEventInput } from "../src/rpc/types";
import { Harness, PASSWORD, type SeededUser } from "./helpers";
import { HOME } from "./ip-rules-fixtures";
import { auditStore } from "./audit-store";

/**
 * A harness whose clock starts at the real time: the entrypoint runs with the Worker's
 * own clock (Date.now), so sessions and grants must be made at the same time.
 */
export function realTimeHarness(): Harness {
  const h = new Harness();
  h.clock.ms = Date.now();
  return h;
}

/** The client address the product passes on: the harness's default, allowed by every rule set seeded here. */
export const CLIENT_IP = HOME;

export function authenticate(cookie: string, clientIp = CLIENT_IP) {
  return env.GATEHOUSE.authenticate({ headers: { cookie, "user-agent": "Mozilla/5.0 test" }, clientIp });
}

/**
 * Counts the D1 statements prepared while `run` runs, in this isolate (the Worker under
 * test shares it, so its queries through the binding count too).
 */
export async function countD1<T>(run: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const proto = Object.getPrototypeOf(env.DB) as { prepare: (...args: unknown[]) => unknown; exec: (...args: unknown[]) => unknown };
  const prepare = vi.spyOn(proto, "prepare");
  const exec = vi.spyOn(proto, "exec");
  try {
    const result = await run();
    return { result, statements: prepare.mock.calls.length + exec.mock.calls.length };
  } finally {
    prepare.mockRestore();
    exec.mockRestore();
  }
}

/** Earns a grant for any purpose, Gatehouse's or the product's, through the verify route. */
export async function verifyStepUp(h: Harness, cookie: string, purpose: string, user: SeededUser) {
  let factor: Record<string, string>;
  if (user.totpSecret) {
    h.clock.advanceSeconds(30);
    factor = { code: h.code(user) };
  } else factor = { password: PASSWORD };
  return h.call("/api/security/stepup/verify", { cookie, body: { purpose, ...factor } });
}

export type AuditRow = { id: string; seq: number; action: string; failure_reason: string | null; actor_user_id: string | null; real_user_id: string | null; is_impersonating: number; target_type: string | null; target_id: string | null; ip: string | null; user_agent: string | null; request_id: string | null; metadata: string | null; prev_hash: string | null; hash: string | null };

/** A tenant's audit rows, in chain order. */
export const auditRows = (tenantId: string) =>
  auditStore.prepare("SELECT * FROM audit_logs WHERE tenant_id = ? ORDER BY seq").bind(tenantId).all<AuditRow>().then((r) => r.results);

/** A product event as the product records it: the session `authenticate` answered and whom it acts for (its `user.id`). */
export const productEvent = (sessionId: string, userId: string, extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  sessionId,
  userId,
  action: "app.note.deleted",
  outcome: "SUCCESS",
  targetType: "note",
  targetId: "note_42",
  before: { title: "Q3 plan" },
  metadata: { folder: "plans" },
  ip: "203.0.113.10",
  userAgent: "Mozilla/5.0 product",
  requestId: "req-123",
  ...extra,
});
