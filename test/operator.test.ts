import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { createDb } from "../src/db/client";
import { tenants } from "../src/db/schema";
import { auditRowsOf } from "./audit-store";
import { type CallOptions, type CallResult, Harness, ORIGIN, configured, d1WithTableGone, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { accept, auditRows, invite, tokenOf } from "./invitation-fixtures";
import { legacyRowsInD1, seedLegacyChain } from "./legacy-audit-fixtures";

const TOKEN = "operator-token-for-tests-0123456789abcdef";
const operatorEnv = withEnv({ OPERATOR_TOKEN: TOKEN });
const asOperator = (token = TOKEN): CallOptions => ({ env: operatorEnv, headers: { authorization: `Bearer ${token}` } });

type CreatedTenant = { tenant: { id: string; name: string; slug: string; disabledAt: string | null }; invitationLink: string };
const uniqueSlug = () => `op-${crypto.randomUUID().slice(0, 8)}`;
const createTenant = (h: Harness, body: Record<string, unknown>, options = asOperator()) => h.call<CreatedTenant>("/api/operator/tenants", { ...options, body });

/** An unknown API path, asked the same way as `path`. */
const UNKNOWN_PATH = "/api/no-such-route";

/** What a caller can compare of an answer: status, body (its echo of the request line made neutral) and every header but the request id. */
function comparable(res: CallResult<unknown>, method: string, path: string) {
  const text = JSON.stringify(res.body).replaceAll(`${method} ${gatehouseUrl(path).slice(ORIGIN.length)}`, "<request>");
  const headers = [...res.headers].filter(([name]) => name !== "x-request-id");
  return { status: res.status, body: JSON.parse(text) as unknown, headers };
}

/** Asks `path` and an unknown API path the same way; they must answer alike. Returns the status. */
async function expectAnsweredAsUnknownPath(h: Harness, path: string, options: CallOptions): Promise<number> {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const asked = comparable(await h.call(path, options), method, path);
  const unknown = comparable(await h.call(UNKNOWN_PATH, options), method, UNKNOWN_PATH);
  expect(asked, `${method} ${path}`).toEqual(unknown);
  return asked.status;
}

describe("operator API", () => {
  it("without OPERATOR_TOKEN configured the operator API does not exist: every request is answered as an unknown path", async () => {
    const h = new Harness();
    const withToken = { headers: { authorization: `Bearer ${TOKEN}` } };
    await expectAnsweredAsUnknownPath(h, "/api/operator/tenants", withToken);
    await expectAnsweredAsUnknownPath(h, "/api/operator/tenants", { ...withToken, body: { name: "X", slug: uniqueSlug(), ownerEmail: "x@x.test" } });
  });

  it("a missing or wrong operator token is answered as an unknown path, and changes nothing", async () => {
    const h = new Harness();
    const slug = uniqueSlug();
    const attempts: CallOptions[] = [
      { env: operatorEnv },
      asOperator("wrong-token-of-the-same-sort-0123456789abcd"),
      asOperator(TOKEN.slice(0, -1)),
      asOperator(`${TOKEN}x`),
      { env: operatorEnv, headers: { authorization: TOKEN } },
      { env: operatorEnv, headers: { authorization: `Basic ${btoa(`operator:${TOKEN}`)}` } },
    ];
    for (const options of attempts) {
      await expectAnsweredAsUnknownPath(h, "/api/operator/tenants", { ...options, body: { name: "Nope", slug, ownerEmail: "nope@nope.test" } });
      // Not even validation answers: a malformed body gets the unknown path's answer too.
      await expectAnsweredAsUnknownPath(h, "/api/operator/tenants", { ...options, body: { junk: true } });
    }
    expect(await createDb(env.DB).query.tenants.findFirst({ where: eq(tenants.slug, slug) })).toBeUndefined();
  });

  it("without the operator token the audit migration does not exist: answered as an unknown path, and D1's audit rows stay where they are", async () => {
    const h = new Harness();
    const t = await seedTenant("op-migrate", { totp: false });
    await seedLegacyChain(t.id, { rows: 3 });
    const attempts: CallOptions[] = [{ headers: { authorization: `Bearer ${TOKEN}` } }, { env: operatorEnv }, asOperator("wrong-token-of-the-same-sort-0123456789abcd")];
    for (const options of attempts) {
      await expectAnsweredAsUnknownPath(h, "/api/operator/audit/migrate", { ...options, body: {} });
      await expectAnsweredAsUnknownPath(h, "/api/operator/audit/migrate", { ...options, body: { limit: 0 } });
    }
    expect(await legacyRowsInD1()).toBe(3);
  });

  it("without its token the operator API is indistinguishable from an unknown API path: same status, body and headers, whoever calls", async () => {
    const h = new Harness();
    const t = await seedTenant("op-alike", { totp: false });
    const member = await h.login(t.member.email);
    const revoked = await h.login(t.member.email);
    expect((await h.call("/api/auth/logout", { cookie: revoked.cookie, method: "POST" })).status).toBe(200);
    h.clock.advanceSeconds(2); // past the in-isolate copy of the revoked session
    const callers: CallOptions[] = [{}, { cookie: member.cookie }, { cookie: revoked.cookie }];
    const tokens: CallOptions[] = [{ env: operatorEnv }, asOperator("wrong-token-of-the-same-sort-0123456789abcd"), { headers: { authorization: `Bearer ${TOKEN}` } }];
    const seen = new Set<number>();
    for (const caller of callers) {
      for (const token of tokens) {
        for (const [path, body] of [["/api/operator/tenants", undefined], ["/api/operator/tenants", { name: "X", slug: uniqueSlug(), ownerEmail: "x@x.test" }], [`/api/operator/tenants/${t.id}/disable`, {}]] as const) {
          seen.add(await expectAnsweredAsUnknownPath(h, path, { ...token, ...caller, ...(body ? { body } : {}) }));
        }
      }
    }
    // The callers meet each of the unknown path's answers: no session, a live one, a revoked one.
    expect([...seen].sort()).toEqual([401, 404]);
    expect(await createDb(env.DB).query.tenants.findFirst({ where: eq(tenants.id, t.id) })).toMatchObject({ disabledAt: null });
  });

  it("a created tenant's audit chain starts with TENANT_CREATED, and its first owner signs in through the invitation", async () => {
    const h = new Harness();
    const slug = uniqueSlug();
    const res = await createTenant(h, { name: "Acme Two", slug, ownerEmail: " Alice@Acme-Two.TEST " });
    expect(res.status).toBe(201);
    expect(res.body.tenant).toMatchObject({ name: "Acme Two", slug, disabledAt: null });
    const rows = await auditRowsOf(res.body.tenant.id);
    expect(rows.map((r) => [r.seq, r.action, r.outcome, r.actorUserId])).toEqual([
      [1, "TENANT_CREATED", "SUCCESS", null],
      [2, "USER_INVITED", "SUCCESS", null],
    ]);
    const accepted = await accept(h, tokenOf(res.body.invitationLink), "the first owner's own passphrase");
    expect(accepted.status).toBe(200);
    expect(accepted.body.user).toMatchObject({ email: "alice@acme-two.test", role: "owner", tenantId: res.body.tenant.id });
    const listed = await h.call<{ tenants: { id: string; members: number }[] }>("/api/operator/tenants", asOperator());
    expect(listed.body.tenants.find((t) => t.id === res.body.tenant.id)?.members).toBe(1);
  });

  it("a tenant name with control or format characters is refused (400) and no tenant is created", async () => {
    const h = new Harness();
    for (const name of ["Acme\u202Egnp.exe", "Acme\u0007", "Ac\u200Bme"]) {
      const slug = uniqueSlug();
      const res = await createTenant(h, { name, slug, ownerEmail: `owner@${slug}.test` });
      expect([JSON.stringify(name), res.status, (res.body as unknown as { error: string }).error]).toEqual([JSON.stringify(name), 400, "VALIDATION_FAILED"]);
      expect(await createDb(env.DB).query.tenants.findFirst({ where: eq(tenants.slug, slug) })).toBeUndefined();
    }
  });

  it("a tenant's slug is unique and well-formed", async () => {
    const h = new Harness();
    const slug = uniqueSlug();
    expect((await createTenant(h, { name: "One", slug, ownerEmail: `one@${slug}.test` })).status).toBe(201);
    const again = await createTenant(h, { name: "Two", slug, ownerEmail: `two@${slug}.test` });
    expect([again.status, (again.body as unknown as { error: string }).error]).toEqual([409, "SLUG_TAKEN"]);
    for (const bad of ["Acme", "acme_corp", "-acme", "a".repeat(41), ""]) {
      expect((await createTenant(h, { name: "Bad", slug: bad, ownerEmail: "bad@bad.test" })).status).toBe(400);
    }
  });

  it("disabling a tenant ends all its sessions at once and refuses sign-in to it", async () => {
    const h = new Harness();
    const t = await seedTenant("gone");
    const other = await seedTenant("stays");
    const admin = await h.session(t.admin);
    const member = await h.login(t.member.email);
    const outsider = await h.login(other.member.email);
    const pending = tokenOf((await invite(h, admin.cookie, "late-joiner@gone.test")).body.link);

    const res = await h.call<{ endedSessions: number }>(`/api/operator/tenants/${t.id}/disable`, { ...asOperator(), body: {} });
    expect([res.status, res.body.endedSessions]).toEqual([200, 2]);
    for (const cookie of [admin.cookie, member.cookie]) expect((await h.call("/api/me", { cookie })).status).toBe(401);
    expect((await h.call("/api/me", { cookie: outsider.cookie })).status).toBe(200);

    const signIn = await h.call("/api/auth/login", { body: { email: t.member.email, password: "correct horse battery staple" } });
    expect([signIn.status, signIn.body.error]).toEqual([403, "TENANT_DISABLED"]);
    const joined = await accept(h, pending);
    expect([joined.status, (joined.body as unknown as { error: string }).error]).toEqual([403, "TENANT_DISABLED"]);
    expect((await auditRows(t.id, "TENANT_DISABLED")).map((r) => [r.outcome, r.actorUserId])).toEqual([["SUCCESS", null]]);
    const again = await h.call(`/api/operator/tenants/${t.id}/disable`, { ...asOperator(), body: {} });
    expect([again.status, again.body.error]).toEqual([409, "TENANT_ALREADY_DISABLED"]);
    const failRows = (await auditRowsOf(t.id, "TENANT_DISABLED")).filter((r) => r.outcome === "FAIL");
    expect(failRows.map((r) => r.failureReason)).toEqual(["TENANT_ALREADY_DISABLED"]);
  });

  it("sign-in fails closed when the tenant cannot be read: 503 AUTH_UNAVAILABLE, no session", async () => {
    const h = new Harness();
    const t = await seedTenant("closed", { totp: false });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await h.call("/api/auth/login", { env: withEnv({ DB: d1WithTableGone(env.DB, "tenants") }), body: { email: t.member.email, password: "correct horse battery staple" } });
    expect([res.status, res.body.error, res.cookie]).toEqual([503, "AUTH_UNAVAILABLE", undefined]);
    vi.restoreAllMocks();
  });

  it("OPERATOR_TOKEN is validated at startup: a short token is refused", () => {
    expect(() => parseConfig(configured({ OPERATOR_TOKEN: "short" }))).toThrow(ConfigError);
    expect(parseConfig(configured({ OPERATOR_TOKEN: TOKEN })).operatorToken).toBe(TOKEN);
  });
});
