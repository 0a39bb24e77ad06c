// The lockout guard: a rule change that would block the caller's own address is refused.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, HOME, auditRows, seedRules, setup, storedCidrs } from "./ip-rules-fixtures";
import { withEnv } from "./helpers";

describe("lockout guard: a change that would block the caller's own address is 409 WOULD_LOCK_OUT", () => {
  it("create: a deny rule covering the caller", async () => {
    const { h, t, cookie } = await setup();
    const res = await h.call(BASE, { cookie, body: { action: "deny", cidr: "203.0.113.0/24" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "WOULD_LOCK_OUT", ip: HOME, reason: "DENY_RULE" });
    expect(await storedCidrs(t.id)).toEqual([]);
  });

  it("create: a first allow rule that does not cover the caller (allow-list mode)", async () => {
    const { h, t, cookie } = await setup();
    const res = await h.call(BASE, { cookie, body: { action: "allow", cidr: "198.51.100.0/24" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "WOULD_LOCK_OUT", reason: "NOT_IN_ALLOW_LIST" });
    expect(await storedCidrs(t.id)).toEqual([]);
    const covered = await h.call(BASE, { cookie, body: { action: "allow", cidr: "203.0.113.0/24" } });
    expect(covered.status).toBe(201);
    const more = await h.call(BASE, { cookie, body: { action: "allow", cidr: "198.51.100.0/24" } });
    expect(more.status).toBe(201);
  });

  it("update: moving or flipping the allow rule that covers the caller", async () => {
    const { h, t, cookie } = await setup();
    const [mine] = await seedRules(t.id, [{ action: "allow", cidr: "203.0.113.0/24" }]);
    for (const body of [{ cidr: "198.51.100.0/24" }, { action: "deny" }]) {
      const res = await h.call(`${BASE}/${mine}`, { cookie, method: "PATCH", body });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe("WOULD_LOCK_OUT");
    }
    expect(await storedCidrs(t.id)).toEqual(["allow 203.0.113.0/24"]);
  });

  it("delete: the allow rule covering the caller while other allow rules remain", async () => {
    const { h, t, cookie } = await setup();
    const [mine, office] = await seedRules(t.id, [
      { action: "allow", cidr: "203.0.113.0/24" },
      { action: "allow", cidr: "198.51.100.0/24" },
    ]);
    const res = await h.call(`${BASE}/${mine}`, { cookie, method: "DELETE" });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("WOULD_LOCK_OUT");
    expect(await storedCidrs(t.id)).toHaveLength(2);
    // Deleting the other allow rule first, then the last one (no rules: everyone in), is fine.
    expect((await h.call(`${BASE}/${office}`, { cookie, method: "DELETE" })).status).toBe(200);
    expect((await h.call(`${BASE}/${mine}`, { cookie, method: "DELETE" })).status).toBe(200);
  });

  it("applies to IPv6 callers too", async () => {
    const { h, t, cookie } = await setup();
    const res = await h.call(BASE, { cookie, ip: "2001:db8:10::5", body: { action: "deny", cidr: "2001:db8::/32" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "WOULD_LOCK_OUT", ip: "2001:db8:10::5", reason: "DENY_RULE", matchedRule: { action: "deny", cidr: "2001:db8::/32" } });
    expect(await storedCidrs(t.id)).toEqual([]);
  });

  it("a temporary allow rule for the caller's own address is not a lockout (it is what expiry is for)", async () => {
    const { h, cookie } = await setup();
    const expiresAt = new Date(h.clock.ms + 3600_000).toISOString();
    const res = await h.call(BASE, { cookie, body: { action: "allow", cidr: `${HOME}/32`, expiresAt } });
    expect(res.status).toBe(201);
  });

  it("the guard also checks the rules as they will be once each temporary rule expires", async () => {
    const { h, t, cookie } = await setup();
    const expiresAt = h.clock.ms + 3600_000;
    // Only a temporary allow covers the caller: a permanent allow for another network would
    // lock the caller out the moment it expires.
    const [temporary] = await seedRules(t.id, [{ action: "allow", cidr: `${HOME}/32`, expiresAt }]);
    const res = await h.call(BASE, { cookie, body: { action: "allow", cidr: "198.51.100.0/24" } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "WOULD_LOCK_OUT", reason: "NOT_IN_ALLOW_LIST", blockedFrom: new Date(expiresAt).toISOString() });
    expect(await storedCidrs(t.id)).toEqual([`allow ${HOME}/32`]);
    // Making the caller's rule permanent first is the way out; then the other network is fine.
    expect((await h.call(`${BASE}/${temporary}`, { cookie, method: "PATCH", body: { expiresAt: null } })).status).toBe(200);
    expect((await h.call(BASE, { cookie, body: { action: "allow", cidr: "198.51.100.0/24" } })).status).toBe(201);
    // And turning it back into a temporary one is refused for the same reason.
    const again = await h.call(`${BASE}/${temporary}`, { cookie, method: "PATCH", body: { expiresAt: new Date(expiresAt).toISOString() } });
    expect(again.body.error).toBe("WOULD_LOCK_OUT");
  });

  it("two admins each deleting the other's allow rule cannot both commit (the later batch aborts: 409 IP_RULES_CHANGED)", async () => {
    const { h, t, cookie } = await setup();
    const [mine, theirs] = await seedRules(t.id, [
      { action: "allow", cidr: "203.0.113.0/24" },
      { action: "allow", cidr: "203.0.113.10/32" },
    ]);
    // The other admin's delete of `mine` commits between our checks and our batch.
    const racing: D1Database = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") {
          return async (stmts: D1PreparedStatement[]) => {
            await target.prepare("DELETE FROM ip_rules WHERE id = ?").bind(mine).run();
            return target.batch(stmts);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await h.call(`${BASE}/${theirs}`, { cookie, method: "DELETE", env: withEnv({ DB: racing }) });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("IP_RULES_CHANGED");
    expect(await storedCidrs(t.id)).toEqual(["allow 203.0.113.10/32"]);
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
  });

  it("the refusal is audited as a FAIL row with the reason", async () => {
    const { h, t, cookie } = await setup();
    await h.call(BASE, { cookie, body: { action: "deny", cidr: `${HOME}/32` } });
    expect(await auditRows(t.id)).toEqual([expect.objectContaining({ action: "IP_RULE_CREATED", outcome: "FAIL", failure_reason: "WOULD_LOCK_OUT" })]);
  });
});

