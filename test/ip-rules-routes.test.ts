// The IP rules API: shapes, validation, duplicates, limits, tenancy, permission,
// step-up and audit. The lockout guard is in ip-rules-lockout.test.ts, enforcement in
// ip-rules-enforcement.test.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, HOME, type Rule, auditRows, seedRules, setup, storedCidrs } from "./ip-rules-fixtures";
import { Harness, d1WithBrokenAudit, seedTenant, withEnv } from "./helpers";

describe("IP rules API: create, list, update, delete", () => {
  it("create answers 201 { rule } with the network stored in canonical form", async () => {
    const { h, t, cookie } = await setup();
    const res = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "2001:DB8:0:0::1", description: "  bad host  " } });
    expect(res.status).toBe(201);
    expect(res.body.rule).toEqual({
      id: expect.stringMatching(/^ipr_/),
      action: "deny",
      cidr: "2001:db8::1/128",
      description: "bad host",
      createdBy: t.admin.id,
      createdAt: new Date(h.clock.ms).toISOString(),
      updatedAt: new Date(h.clock.ms).toISOString(),
      expiresAt: null,
    });
    const list = await h.call<{ rules: Rule[] }>(BASE, { cookie });
    expect(list.body).toEqual({ rules: [res.body.rule] });
  });

  it("update answers 200 { rule } and changes only the fields sent", async () => {
    const { h, cookie } = await setup();
    const created = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24", description: "scanner" } });
    h.clock.advanceSeconds(5);
    const expiresAt = new Date(h.clock.ms + 3600_000).toISOString();
    const res = await h.call<{ rule: Rule }>(`${BASE}/${created.body.rule.id}`, { cookie, method: "PATCH", body: { cidr: "198.51.0.0/16", expiresAt } });
    expect(res.status).toBe(200);
    expect(res.body.rule).toEqual({ ...created.body.rule, cidr: "198.51.0.0/16", expiresAt, updatedAt: new Date(h.clock.ms).toISOString() });
    const cleared = await h.call<{ rule: Rule }>(`${BASE}/${created.body.rule.id}`, { cookie, method: "PATCH", body: { description: null, expiresAt: null } });
    expect(cleared.body.rule).toMatchObject({ description: null, expiresAt: null, cidr: "198.51.0.0/16" });
  });

  it("delete answers 200 { success: true } and the rule is gone (a second delete is 404)", async () => {
    const { h, t, cookie } = await setup();
    const created = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24" } });
    const res = await h.call(`${BASE}/${created.body.rule.id}`, { cookie, method: "DELETE" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(await storedCidrs(t.id)).toEqual([]);
    const again = await h.call(`${BASE}/${created.body.rule.id}`, { cookie, method: "DELETE" });
    expect(again.status).toBe(404);
    expect(again.body.error).toBe("IP_RULE_NOT_FOUND");
  });
});

describe("bad input gets 400 with a clear message and changes nothing", () => {
  it.each([
    [{ action: "deny", cidr: "10.0.0.0/33" }, /cidr: prefix length \/33 is out of range/],
    [{ action: "deny", cidr: "300.1.1.1" }, /cidr: "300\.1\.1\.1" is not a valid IPv4 address/],
    [{ action: "deny", cidr: "::ffff:zz" }, /cidr: "::ffff:zz" is not a valid IPv6 address/],
    [{ action: "deny", cidr: "" }, /cidr: must not be empty/],
    [{ action: "deny", cidr: "10.1.2.3/8" }, /cidr: host bits set: did you mean 10\.0\.0\.0\/8\?/],
    [{ action: "deny", cidr: "010.0.0.1" }, /no leading zeros/],
    [{ action: "deny", cidr: "x".repeat(65) }, /too long/],
    [{ action: "block", cidr: "10.0.0.0/8" }, /action: must be "allow" or "deny"/],
    [{ action: "deny" }, /cidr/],
    [{ action: "deny", cidr: "10.0.0.0/8", description: "d".repeat(201) }, /description: must be at most 200/],
    [{ action: "deny", cidr: "10.0.0.0/8", expiresAt: "tomorrow" }, /expiresAt: must be an ISO 8601/],
    [{ action: "deny", cidr: "10.0.0.0/8", expiresAt: "2020-01-01T00:00:00Z" }, /expiresAt: must be in the future/],
    [{ action: "deny", cidr: "10.0.0.0/8", tenantId: "ten_other" }, /Unrecognized key/i],
  ])("create %j → 400", async (body, message) => {
    const { h, t, cookie } = await setup();
    const res = await h.call(BASE, { cookie, body });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("VALIDATION_FAILED");
    expect(res.body.message).toMatch(message);
    expect(await storedCidrs(t.id)).toEqual([]);
  });

  it("an update must send at least one field, and a bad one changes nothing", async () => {
    const { h, t, cookie } = await setup();
    const [id] = await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const empty = await h.call(`${BASE}/${id}`, { cookie, method: "PATCH", body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/at least one field/);
    const bad = await h.call(`${BASE}/${id}`, { cookie, method: "PATCH", body: { cidr: "198.51.100.1/24" } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/did you mean 198\.51\.100\.0\/24\?/);
    expect(await storedCidrs(t.id)).toEqual(["deny 198.51.100.0/24"]);
  });

  it("a tenant cannot exceed 1,000 rules: 400 TOO_MANY_RULES", async () => {
    const { h, t, cookie } = await setup();
    const many = Array.from({ length: 1000 }, (_, i) => ({ action: "deny" as const, cidr: `10.${Math.floor(i / 256)}.${i % 256}.0/24` }));
    for (let i = 0; i < many.length; i += 100) await seedRules(t.id, many.slice(i, i + 100));
    const res = await h.call(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24" } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "TOO_MANY_RULES", limit: 1000 });
    expect((await storedCidrs(t.id)).length).toBe(1000);
  });

  it("a duplicate (same action and network, however written) is 409 DUPLICATE_RULE", async () => {
    const { h, t, cookie } = await setup();
    const first = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24" } });
    const dup = await h.call(BASE, { cookie, body: { action: "deny", cidr: "::ffff:198.51.100.0/120" } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ error: "DUPLICATE_RULE", existingRuleId: first.body.rule.id });
    const other = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "198.51.101.0/24" } });
    const dupByUpdate = await h.call(`${BASE}/${other.body.rule.id}`, { cookie, method: "PATCH", body: { cidr: "198.51.100.0/24" } });
    expect(dupByUpdate.status).toBe(409);
    expect(await storedCidrs(t.id)).toEqual(["deny 198.51.100.0/24", "deny 198.51.101.0/24"]);
  });
});

describe("tenancy, permission and step-up", () => {
  it("another tenant's rule id is 404 for update and delete, and that rule is unchanged", async () => {
    const { h, cookie } = await setup();
    const other = await seedTenant("other");
    const [theirs] = await seedRules(other.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const patch = await h.call(`${BASE}/${theirs}`, { cookie, method: "PATCH", body: { cidr: "192.0.2.0/24" } });
    const del = await h.call(`${BASE}/${theirs}`, { cookie, method: "DELETE" });
    expect([patch.status, del.status]).toEqual([404, 404]);
    expect(patch.body.error).toBe("IP_RULE_NOT_FOUND");
    expect(await storedCidrs(other.id)).toEqual(["deny 198.51.100.0/24"]);
    const list = await h.call<{ rules: Rule[] }>(BASE, { cookie });
    expect(list.body.rules).toEqual([]);
  });

  it("a member gets 403 for every change and for reading the rules", async () => {
    const h = new Harness();
    const t = await seedTenant("ipr");
    const [id] = await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.session(t.member);
    const calls = [
      h.call(BASE, { cookie, body: { action: "deny", cidr: "192.0.2.0/24" } }),
      h.call(`${BASE}/${id}`, { cookie, method: "PATCH", body: { cidr: "192.0.2.0/24" } }),
      h.call(`${BASE}/${id}`, { cookie, method: "DELETE" }),
      h.call(BASE, { cookie }),
      h.call(`${BASE}/check`, { cookie }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(403);
      expect(res.body.error).toBe("FORBIDDEN");
    }
    expect(await storedCidrs(t.id)).toEqual(["deny 198.51.100.0/24"]);
  });

  it("an admin without a fresh IP_RULE_CHANGE grant gets 428 for every change, and nothing changes", async () => {
    const h = new Harness();
    const t = await seedTenant("ipr");
    const [id] = await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    const { cookie } = await h.session(t.admin);
    await h.stepUp(cookie, "ROLE_CHANGE", t.admin); // a grant for another purpose never counts
    const calls = [
      () => h.call(BASE, { cookie, body: { action: "deny", cidr: "192.0.2.0/24" } }),
      () => h.call(`${BASE}/${id}`, { cookie, method: "PATCH", body: { cidr: "192.0.2.0/24" } }),
      () => h.call(`${BASE}/${id}`, { cookie, method: "DELETE" }),
    ];
    for (const call of calls) {
      const res = await call();
      expect(res.status).toBe(428);
      expect(res.body).toMatchObject({ error: "STEP_UP_REQUIRED", purpose: "IP_RULE_CHANGE" });
    }
    // The grant lasts 10 minutes: after that, changes need a new one.
    await h.stepUp(cookie, "IP_RULE_CHANGE", t.admin);
    h.clock.advanceSeconds(10 * 60 + 1);
    expect((await calls[0]?.())?.status).toBe(428);
    expect(await storedCidrs(t.id)).toEqual(["deny 198.51.100.0/24"]);
  });
});

describe("audit: every change writes its SUCCESS row with before/after, atomically", () => {
  it("create, update and delete each write one row with before and after", async () => {
    const { h, t, cookie } = await setup();
    const created = await h.call<{ rule: Rule }>(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24" } });
    const updated = await h.call<{ rule: Rule }>(`${BASE}/${created.body.rule.id}`, { cookie, method: "PATCH", body: { description: "scanner" } });
    await h.call(`${BASE}/${created.body.rule.id}`, { cookie, method: "DELETE" });
    const rows = await auditRows(t.id);
    expect(rows.map((r) => [r.action, r.outcome, r.target_id])).toEqual([
      ["IP_RULE_CREATED", "SUCCESS", created.body.rule.id],
      ["IP_RULE_UPDATED", "SUCCESS", created.body.rule.id],
      ["IP_RULE_DELETED", "SUCCESS", created.body.rule.id],
    ]);
    const json = (s: string | null) => (s === null ? null : JSON.parse(s));
    expect(rows.map((r) => [json(r.before), json(r.after)])).toEqual([
      [null, created.body.rule],
      [created.body.rule, updated.body.rule],
      [updated.body.rule, null],
    ]);
  });

  it("if the audit row cannot be written, the rule is not written either", async () => {
    const { h, t, cookie } = await setup();
    const res = await h.call(BASE, { cookie, body: { action: "deny", cidr: "198.51.100.0/24" }, env: withEnv({ DB: d1WithBrokenAudit(env.DB) }) });
    expect(res.status).toBe(500);
    expect(await storedCidrs(t.id)).toEqual([]);
    expect((await auditRows(t.id)).filter((r) => r.outcome === "SUCCESS")).toEqual([]);
  });
});

describe("GET /check: what the rules decide for an address, before saving anything", () => {
  it("answers { ip, allowed, matchedRule } for a given address (IPv4-mapped IPv6 shown as IPv4)", async () => {
    const { h, t, cookie } = await setup();
    const [id] = await seedRules(t.id, [{ action: "deny", cidr: "198.51.100.0/24" }]);
    h.clock.advanceSeconds(1); // written behind the app's back: step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    const res = await h.call<{ ip: string; allowed: boolean; matchedRule: Rule | null }>(`${BASE}/check?ip=${encodeURIComponent("::ffff:198.51.100.7")}`, { cookie });
    expect(res.status).toBe(200);
    const list = await h.call<{ rules: Rule[] }>(BASE, { cookie });
    expect(res.body).toMatchObject({ ip: "198.51.100.7", allowed: false, reason: "DENY_RULE" });
    expect(res.body.matchedRule).toEqual(list.body.rules.find((r) => r.id === id)); // the same view as the list
    const other = await h.call(`${BASE}/check?ip=192.0.2.1`, { cookie });
    expect(other.body).toMatchObject({ ip: "192.0.2.1", allowed: true, matchedRule: null });
  });

  it("without ?ip= it checks the caller's own address", async () => {
    const { h, t, cookie } = await setup();
    const [id] = await seedRules(t.id, [{ action: "allow", cidr: "203.0.113.0/24" }]);
    h.clock.advanceSeconds(1); // written behind the app's back: step past the in-isolate copy (LOCAL_TENANT_EDGE_MS)
    const res = await h.call(`${BASE}/check`, { cookie });
    expect(res.body).toMatchObject({ ip: HOME, allowed: true, matchedRule: { id } });
  });

  it("a bad address is 400", async () => {
    const { h, cookie } = await setup();
    for (const ip of ["300.1.1.1", "::ffff:zz", "", "10.0.0.0/8"]) {
      const res = await h.call(`${BASE}/check?ip=${encodeURIComponent(ip)}`, { cookie });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("VALIDATION_FAILED");
    }
  });
});
