import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { auditStore } from "./audit-store";

const CHOSEN = "attacker-chosen-id";

describe("request ids: the server's, never the client's", () => {
  it("the audit log never records a request id the client sent (X-Request-Id or cf-ray)", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const res = await h.call("/api/auth/login", {
      body: { email: t.member.email, password: "wrong password" },
      headers: { "x-request-id": CHOSEN, "cf-ray": CHOSEN },
    });
    expect(res.status).toBe(401);
    const row = await auditStore.prepare("SELECT request_id FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED'")
      .bind(t.id)
      .first<{ request_id: string }>();
    expect(row?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row?.request_id).not.toBe(CHOSEN);
    // The generated id is the one sent back, so a client can still quote it to support.
    expect(res.headers.get("x-request-id")).toBe(row?.request_id);
  });
});
