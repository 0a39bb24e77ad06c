// Sign-in throttles: nobody can lock another person out by failing on purpose, while
// guessing stays bounded per address, per email and address, per account and per device.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEVICE_COOKIE_MAX_AGE_SECONDS } from "../src/auth/device";
import { LOGIN_ACCOUNT_LIMITS, LOGIN_ADDRESS_LIMIT, loginKeys } from "../src/auth/throttle";
import { type CallOptions, Harness, PASSWORD, brokenBinding, cookieHeader, seedTenant, withEnv } from "./helpers";

/** A fresh address per call, so tests never share a per-address counter. */
let next = 1;
const freshIp = () => `198.18.${(next >> 8) & 255}.${next++ & 255}`;

async function login(h: Harness, email: string, password: string, options: CallOptions = {}, extra: Record<string, unknown> = {}) {
  return h.call("/api/auth/login", { ...options, body: { email, password, ...extra } });
}

/** Sets a D1 attempt counter as if `failures` attempts had just been made. */
async function fillCounter(key: string, failures: number, nowMs: number) {
  await env.DB.prepare("INSERT OR REPLACE INTO attempt_counters (key, failures, window_started_at) VALUES (?, ?, ?)").bind(key, failures, nowMs).run();
}

/** The device cookie a successful sign-in set, as a Cookie header value. */
function deviceCookie(setCookie: string | undefined): string {
  const found = setCookie?.split(/,\s*(?=__Host-)/).find((c) => c.startsWith("__Host-gatehouse_device="));
  if (!found) throw new Error(`no device cookie in ${setCookie}`);
  return cookieHeader(found);
}

/** A stub rate limiter that records its keys and answers `success`. */
function stubLimiter(success: boolean) {
  const keys: string[] = [];
  const limiter: RateLimit = {
    async limit(options) {
      keys.push(options.key);
      return { success };
    },
  };
  return { limiter, keys };
}

describe("sign-in cannot be used to lock someone out", () => {
  it("ten wrong passwords from one address do not stop the right password and TOTP from another address", async () => {
    const h = new Harness();
    const t = await seedTenant("lock");
    const attacker = freshIp();
    for (let i = 0; i < 10; i++) expect((await login(h, t.owner.email, `wrong-${i}`, { ip: attacker })).status).toBe(401);
    expect((await login(h, t.owner.email, PASSWORD, { ip: attacker })).status).toBe(429);

    const owner = await login(h, t.owner.email, PASSWORD, { ip: freshIp() }, { totpCode: h.code(t.owner) });
    expect(owner.status).toBe(200);
  });

  it("throttles by CF-Connecting-IP only: X-Forwarded-For neither spreads nor pins the count", async () => {
    const h = new Harness();
    const t = await seedTenant("xff");
    const attacker = freshIp();
    for (let i = 0; i < 10; i++) {
      await login(h, t.member.email, `wrong-${i}`, { ip: attacker, headers: { "x-forwarded-for": `10.0.0.${i}` } });
    }
    expect((await login(h, t.member.email, PASSWORD, { ip: attacker, headers: { "x-forwarded-for": "10.9.9.9" } })).status).toBe(429);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp(), headers: { "x-forwarded-for": attacker } })).status).toBe(200);
  });

  it("counts an IPv6 client per /64, and another /64 separately", async () => {
    const h = new Harness();
    const t = await seedTenant("v6");
    for (let i = 0; i < 10; i++) await login(h, t.member.email, `wrong-${i}`, { ip: `2001:db8:${next}:1::${i + 1}` });
    expect((await login(h, t.member.email, PASSWORD, { ip: `2001:db8:${next}:1::ffff` })).status).toBe(429);
    expect((await login(h, t.member.email, PASSWORD, { ip: `2001:db8:${next}:2::1` })).status).toBe(200);
    next++;
  });
});

describe("the per-address limit", () => {
  it("is configured as a rate limiting binding that answers in this runtime", async () => {
    expect(env.LOGIN_ADDRESS_LIMITER).toBeDefined();
    expect(await env.LOGIN_ADDRESS_LIMITER?.limit({ key: freshIp() })).toEqual({ success: true });
  });

  it("asks the rate limiter with the client's address and refuses any email with 429 when it says no", async () => {
    const h = new Harness();
    const t = await seedTenant("edge");
    const { limiter, keys } = stubLimiter(false);
    const ip = freshIp();
    const res = await login(h, t.member.email, PASSWORD, { ip, env: withEnv({ LOGIN_ADDRESS_LIMITER: limiter }), headers: { "x-forwarded-for": "10.1.1.1" } });
    expect(res.status).toBe(429);
    expect(res.body.error).toBe("TOO_MANY_ATTEMPTS");
    expect(keys).toEqual([ip]);
  });

  it("is counted in D1 when the rate limiting binding is not configured", async () => {
    const h = new Harness();
    const t = await seedTenant("nobind");
    const ip = freshIp();
    await fillCounter(loginKeys.address(ip), LOGIN_ADDRESS_LIMIT.maxAttempts, h.clock.ms);
    const res = await login(h, t.member.email, PASSWORD, { ip, env: withEnv({ LOGIN_ADDRESS_LIMITER: undefined }) });
    expect(res.status).toBe(429);
    // The window is a minute: then the address may try again.
    h.clock.advanceSeconds(LOGIN_ADDRESS_LIMIT.windowSeconds + 1);
    expect((await login(h, t.member.email, PASSWORD, { ip, env: withEnv({ LOGIN_ADDRESS_LIMITER: undefined }) })).status).toBe(200);
  });

  it("falls back to counting in D1, never to no limit, when the rate limiter fails", async () => {
    const h = new Harness();
    const t = await seedTenant("badbind");
    const ip = freshIp();
    await fillCounter(loginKeys.address(ip), LOGIN_ADDRESS_LIMIT.maxAttempts, h.clock.ms);
    const res = await login(h, t.member.email, PASSWORD, { ip, env: withEnv({ LOGIN_ADDRESS_LIMITER: brokenBinding<RateLimit>("rate limiter") }) });
    expect(res.status).toBe(429);
  });
});

describe("failing closed", () => {
  /** D1 that throws for the attempt counters only, so the user lookup still works. */
  function countersDown(): D1Database {
    return new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop === "prepare") {
          return (sql: string) => {
            if (sql.includes("attempt_counters")) throw new Error("D1 is down");
            return target.prepare(sql);
          };
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  it("sign-in answers 503, never a pass, when its attempt counters cannot be written", async () => {
    const h = new Harness();
    const t = await seedTenant("d1down");
    const res = await login(h, t.member.email, PASSWORD, { ip: freshIp(), env: withEnv({ DB: countersDown() }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
    expect(res.cookie).toBeUndefined();
  });

  it("sign-in answers 503 AUTH_UNAVAILABLE, not 500, when D1 is down", async () => {
    const h = new Harness();
    const t = await seedTenant("dbdown");
    const res = await login(h, t.member.email, PASSWORD, { ip: freshIp(), env: withEnv({ DB: brokenBinding<D1Database>("D1") }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("AUTH_UNAVAILABLE");
  });
});

describe("the per-account ceiling", () => {
  it("guesses spread over many addresses meet the per-account ceiling of 100 per 15 minutes", async () => {
    const h = new Harness();
    const t = await seedTenant("spread");
    const [quarter] = LOGIN_ACCOUNT_LIMITS;
    const key = loginKeys.account(t.member.email, quarter);
    const first = freshIp();
    for (const ip of [first, freshIp()]) {
      for (let i = 0; i < 10; i++) expect((await login(h, t.member.email, `wrong-${i}`, { ip })).status).toBe(401);
    }
    // Refused by the narrower per-address limit: not counted toward the account.
    expect((await login(h, t.member.email, "wrong", { ip: first })).status).toBe(429);
    const counted = await env.DB.prepare("SELECT failures FROM attempt_counters WHERE key = ?").bind(key).first<{ failures: number }>();
    expect(counted?.failures).toBe(20);

    // 80 more from other addresses (set directly: each would cost a PBKDF2 run).
    await env.DB.prepare("UPDATE attempt_counters SET failures = ? WHERE key = ?").bind(quarter.maxAttempts, key).run();
    const res = await login(h, t.member.email, PASSWORD, { ip: freshIp() });
    expect(res.status).toBe(429);
    expect(res.body.retryAfterSeconds).toBeLessThanOrEqual(quarter.windowSeconds);
    h.clock.advanceSeconds(quarter.windowSeconds + 1);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).status).toBe(200);
  }, 30_000);

  it("backs off: past 500 attempts in a day the account waits out the day, not 15 minutes", async () => {
    const h = new Harness();
    const t = await seedTenant("daily");
    const [, daily] = LOGIN_ACCOUNT_LIMITS;
    await fillCounter(loginKeys.account(t.member.email, daily), daily.maxAttempts, h.clock.ms);
    const res = await login(h, t.member.email, PASSWORD, { ip: freshIp() });
    expect(res.status).toBe(429);
    expect(res.body.retryAfterSeconds).toBeGreaterThan(15 * 60);
    h.clock.advanceSeconds(daily.windowSeconds + 1);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).status).toBe(200);
  });
});

describe("device cookies", () => {
  async function fillAccount(email: string, nowMs: number) {
    const [quarter] = LOGIN_ACCOUNT_LIMITS;
    await fillCounter(loginKeys.account(email, quarter), quarter.maxAttempts, nowMs);
  }

  it("a successful sign-in sets an HttpOnly, Secure, __Host- device cookie; a failed one sets none", async () => {
    const h = new Harness();
    const t = await seedTenant("devset");
    const failed = await login(h, t.member.email, "wrong", { ip: freshIp() });
    expect(failed.cookie).toBeUndefined();
    const ok = await login(h, t.member.email, PASSWORD, { ip: freshIp() });
    const set = ok.headers.getSetCookie().find((c) => c.startsWith("__Host-gatehouse_device="));
    // <deviceId>.<keyId>.<mac>: the key id names the key of TOTP_ENCRYPTION_KEY that made it.
    expect(set).toMatch(/^__Host-gatehouse_device=dev_[a-z0-9]{24}\.k0\.[A-Za-z0-9_-]{43};/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Secure/);
    expect(set).toMatch(/Path=\//);
    expect(set).toMatch(new RegExp(`Max-Age=${DEVICE_COOKIE_MAX_AGE_SECONDS}`));
  });

  it("a browser that signed in before passes the per-account ceiling with its device cookie", async () => {
    const h = new Harness();
    const t = await seedTenant("devpass");
    const first = await login(h, t.member.email, PASSWORD, { ip: freshIp() });
    const cookie = deviceCookie(first.cookie);
    await fillAccount(t.member.email, h.clock.ms);

    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).status).toBe(429);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp(), cookie })).status).toBe(200);
  });

  it("a device cookie is bound to its email: presented for another email it counts for nothing", async () => {
    const h = new Harness();
    const t = await seedTenant("devbind");
    const cookie = deviceCookie((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).cookie);
    await fillAccount(t.admin.email, h.clock.ms);
    const res = await login(h, t.admin.email, PASSWORD, { ip: freshIp(), cookie }, { totpCode: h.code(t.admin) });
    expect(res.status).toBe(429);
  });

  it("a device cookie with a forged MAC counts for nothing", async () => {
    const h = new Harness();
    const t = await seedTenant("devforge");
    const cookie = deviceCookie((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).cookie);
    const forged = cookie.replace(/\.([^.])([^.]*)$/, (_, ch: string, rest: string) => `.${ch === "A" ? "B" : "A"}${rest}`);
    await fillAccount(t.member.email, h.clock.ms);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp(), cookie: forged })).status).toBe(429);
  });

  it("a device meets its own limit: 10 attempts per 15 minutes, whatever the address", async () => {
    const h = new Harness();
    const t = await seedTenant("devlimit");
    const cookie = deviceCookie((await login(h, t.member.email, PASSWORD, { ip: freshIp() })).cookie);
    for (let i = 0; i < 10; i++) expect((await login(h, t.member.email, `wrong-${i}`, { ip: freshIp(), cookie })).status).toBe(401);
    expect((await login(h, t.member.email, PASSWORD, { ip: freshIp(), cookie })).status).toBe(429);
  });

  it("sign-in answers 503, never a pass, when the key behind device cookies is missing or malformed", async () => {
    const h = new Harness();
    const t = await seedTenant("devkey");
    for (const key of [undefined, "too-short", "!!not base64url!!"]) {
      const res = await login(h, t.member.email, PASSWORD, { ip: freshIp(), env: withEnv({ TOTP_ENCRYPTION_KEY: key }) });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe("AUTH_UNAVAILABLE");
      expect(res.cookie).toBeUndefined();
    }
  });
});
