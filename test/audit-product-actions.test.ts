// The audit page's filter offers the product's own actions (recorded through the RPC entrypoint).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seedTenant } from "./helpers";
import { realTimeHarness } from "./rpc-fixtures";

const record = ({ sessionId, userId }: { sessionId: string; userId: string }, action: `app.${string}`) =>
  env.GATEHOUSE.recordAuditEvent({ sessionId, userId, action, outcome: "SUCCESS", targetType: "note", targetId: "n1" }).then((r) => expect(r.ok).toBe(true));

describe("the product's actions in the audit log's filter", () => {
  it("lists each product action of the tenant once, in name order, and never another tenant's", async () => {
    const h = realTimeHarness();
    const acme = await seedTenant("pa");
    const globex = await seedTenant("pb");
    const owner = await h.session(acme.owner);
    const other = await h.session(globex.owner);
    await record(owner, "app.note.deleted");
    await record(owner, "app.note.created");
    await record(owner, "app.note.deleted");
    await record(other, "app.invoice.paid");
    const res = await h.call<{ actions: string[] }>("/api/audit-logs/product-actions", { cookie: owner.cookie });
    expect(res.status).toBe(200);
    // Gatehouse's own actions (LOGIN_SUCCEEDED, …) are not product actions.
    expect(res.body.actions).toEqual(["app.note.created", "app.note.deleted"]);
  });

  it("needs the audit log's permission: a member is refused with 403", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("pc");
    const member = await h.login(t.member.email);
    expect((await h.call("/api/audit-logs/product-actions", { cookie: member.cookie })).status).toBe(403);
  });
});
