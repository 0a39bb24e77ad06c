// Sign-in does the same work for an email nobody has as for a member's, in every state a
// refused attempt can be in: the same D1 statements in the same order, the same KV calls,
// the same PBKDF2 derivations, before the answer and after it (waitUntil). The timing
// itself is measured outside the tests, by `npm run bench:signin-timing`.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOGIN_ACCOUNT_LIMITS, LOGIN_ADDRESS_LIMIT, LOGIN_EMAIL_ADDRESS_LIMIT, loginKeys } from "../src/auth/throttle";
import type { Bindings } from "../src/env";
import { Harness, PASSWORD, type SeededTenant, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { recordingD1, recordingKv } from "./sign-in-fixtures";
import { auditStore, eventsEverCommitted, outboxOf } from "./audit-store";

let next = 1;
const freshIp = () => `198.20.${(next >> 8) & 255}.${next++ & 255}`;

async function fillCounter(key: string, failures: number, nowMs: number) {
  await env.DB.prepare("INSERT OR REPLACE INTO attempt_counters (key, failures, window_started_at) VALUES (?, ?, ?)").bind(key, failures, nowMs).run();
}

const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
const refusingLimiter: RateLimit = { limit: async () => ({ success: false }) };

type Attempt = { h: Harness; t: SeededTenant; email: string; ip: string };
type State = {
  name: string;
  status: number;
  /** Puts `email` at `ip` in the state, as earlier attempts would have. */
  prepare?: (a: Attempt) => Promise<void>;
  env?: Partial<Bindings>;
  /** The member whose email is the known one (default: the tenant's member, no TOTP). */
  known?: (t: SeededTenant) => string;
  /** A cookie the attempt carries (the caller's own session elsewhere). */
  cookie?: (a: Attempt) => Promise<string>;
};

const STATES: State[] = [
  { name: "not throttled, with a wrong password", status: 401 },
  { name: "not throttled, for a member with TOTP, with a wrong password", status: 401, known: (t) => t.owner.email },
  {
    name: "not throttled, for a disabled member, with a wrong password",
    status: 401,
    prepare: async ({ t }) => void (await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(t.member.id).run()),
  },
  {
    name: "not throttled, sent with the caller's own session cookie",
    status: 401,
    cookie: async ({ h }) => (await h.signIn((await seedTenant("caller", { productionPasswordCost: true })).member, { ip: freshIp() })).cookie,
  },
  {
    name: "throttled per email and address, the first refusal",
    status: 429,
    prepare: ({ h, email, ip }) => fillCounter(loginKeys.emailAddress(email, ip), LOGIN_EMAIL_ADDRESS_LIMIT.maxAttempts, h.clock.ms),
  },
  {
    name: "throttled per email and address, a third refusal in the minute",
    status: 429,
    prepare: async ({ h, email, ip }) => {
      await fillCounter(loginKeys.emailAddress(email, ip), LOGIN_EMAIL_ADDRESS_LIMIT.maxAttempts, h.clock.ms);
      for (let i = 0; i < 2; i++) await h.call("/api/auth/login", { ip, body: { email, password: "wrong" } });
    },
  },
  {
    name: "throttled per account",
    status: 429,
    prepare: async ({ h, email }) => {
      for (const policy of LOGIN_ACCOUNT_LIMITS) await fillCounter(loginKeys.account(email, policy), policy.maxAttempts, h.clock.ms);
    },
  },
  { name: "throttled by the edge rate limiter", status: 429, env: { LOGIN_ADDRESS_LIMITER: refusingLimiter } },
  {
    name: "throttled per address in D1 (no rate limiter)",
    status: 429,
    env: { LOGIN_ADDRESS_LIMITER: undefined },
    prepare: ({ h, ip }) => fillCounter(loginKeys.address(ip), LOGIN_ADDRESS_LIMIT.maxAttempts, h.clock.ms),
  },
];

type Work = { status: number; body: string; before: string[]; after: string[] };

/** One attempt with every D1 statement, KV call and PBKDF2 derivation listed, split at the answer. */
async function attempt(state: State, a: Attempt): Promise<Work> {
  // One list, in the order the work was started.
  const work: string[] = [];
  const db = recordingD1(env.DB, work);
  // Tenant ids differ between the two emails; what is read and written must not.
  const kv = recordingKv(env.SESSION_CACHE, work, (key) => key.replace(/^(tenant-edge):.*/, "$1:…"));
  const derive = vi.spyOn(crypto.subtle, "deriveBits").mockImplementation((algorithm, key, length) => {
    work.push(`PBKDF2 ${(algorithm as { iterations?: number }).iterations}`);
    return deriveBits(algorithm, key, length);
  });
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "content-type": "application/json", "cf-connecting-ip": a.ip };
  if (state.cookie) headers.cookie = await state.cookie(a);
  const request = new Request(gatehouseUrl("/api/auth/login"), { method: "POST", headers, body: JSON.stringify({ email: a.email, password: "wrong password" }) });
  const res = await a.h.app.fetch(request, withEnv({ ...state.env, DB: db, SESSION_CACHE: kv }), ctx);
  const body = await res.text();
  const before = [...work];
  await waitOnExecutionContext(ctx);
  derive.mockRestore();
  return { status: res.status, body, before, after: work.slice(before.length) };
}

afterEach(() => vi.restoreAllMocks());

/** The work of a refused attempt in `state`, for the tenant's member and for an email nobody has. */
async function workOfBoth(state: State): Promise<{ known: Work; unknown: Work }> {
  const h = new Harness();
  // The member's hash at the cost production stores: the work compared is a real sign-in's.
  const t = await seedTenant("equal", { productionPasswordCost: true });
  const emails = { known: state.known?.(t) ?? t.member.email, unknown: `nobody@${t.slug}.test` };
  // Warm first (an earlier attempt of each, from elsewhere), then let the isolate's copies
  // of the tenant documents go stale, so both are read the way a later attempt reads them.
  for (const email of Object.values(emails)) await h.call("/api/auth/login", { ip: freshIp(), body: { email, password: "wrong" } });
  h.clock.advanceSeconds(2);
  const work: Record<string, Work> = {};
  for (const [kind, email] of Object.entries(emails)) {
    const a = { h, t, email, ip: freshIp() };
    await state.prepare?.(a);
    work[kind] = await attempt(state, a);
  }
  return work as { known: Work; unknown: Work };
}

describe("sign-in does the same work for an unknown email as for a member's", () => {
  it("an unknown email costs the same D1 statements, KV calls and PBKDF2 work as a member's, before and after the answer, in every state a refused attempt can be in", async () => {
    for (const state of STATES) {
      const { known, unknown } = await workOfBoth(state);
      expect(known.status, state.name).toBe(state.status);
      expect(unknown.body, state.name).toBe(known.body);
      expect(known.before.length, state.name).toBeGreaterThan(0);
      expect(unknown.before, `${state.name}: before the answer`).toEqual(known.before);
      expect(unknown.after, `${state.name}: after the answer`).toEqual(known.after);
    }
  }, 120_000);

  it("a member's refused attempt still leaves its row, and an unknown email's leaves none anywhere", async () => {
    const h = new Harness();
    const t = await seedTenant("rows");
    const count = eventsEverCommitted;
    const before = await count();
    expect((await h.call("/api/auth/login", { ip: freshIp(), body: { email: `nobody@${t.slug}.test`, password: PASSWORD } })).status).toBe(401);
    expect(await count()).toBe(before);
    expect((await h.call("/api/auth/login", { ip: freshIp(), body: { email: t.member.email, password: "wrong" } })).status).toBe(401);
    const rows = await auditStore.prepare("SELECT actor_user_id, failure_reason FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED'").bind(t.id).all();
    expect(rows.results).toEqual([{ actor_user_id: t.member.id, failure_reason: "INVALID_PASSWORD" }]);
  });

  it("a refused sign-in's row reaches the tenant's chain, linked, and the chain verifies", async () => {
    const h = new Harness();
    const t = await seedTenant("seal");
    await h.call("/api/auth/login", { ip: freshIp(), body: { email: t.member.email, password: "wrong" } });
    expect(await outboxOf(t.id)).toEqual([]);
    const linked = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ? AND action = 'LOGIN_FAILED' AND hash IS NOT NULL").bind(t.id).first<number>("n");
    expect(linked).toBe(1);
    h.clock.advanceSeconds(30);
    const owner = await h.signIn(t.owner, { ip: freshIp() });
    const verify = await h.call("/api/audit-logs/verify", { cookie: owner.cookie });
    expect(verify.body).toMatchObject({ ok: true, firstBrokenSeq: null });
  });
});
