import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { COMPOSED_HANDLER } from "hono/utils/constants";
import { createApp } from "../src/app";
import { DEFAULT_GATEHOUSE_PATH } from "../src/config";
import { createDb } from "../src/db/client";
import { type Role, tenants, users } from "../src/db/schema";
import type { Bindings } from "../src/env";
import { randomBytes, randomId, toBase64Url } from "../src/lib/crypto";
import { PBKDF2_ITERATIONS, hashPassword, normalizePassword } from "../src/lib/password";
import type { StepUpPurpose } from "../src/stepup/policy";
import { sessionFixture } from "./session-fixture";
import { settleTenantObjects } from "./tenant-objects";
import { sealSecret } from "../src/stepup/secret-box";
import { generateTotpSecret, totpCodeAt } from "../src/stepup/totp";

export const PASSWORD = "correct horse battery staple";
export const ORIGIN = "https://gatehouse.test";

/** Tests name API paths as the API's contract does (`/api/me`); they live under the Gatehouse path. */
export function gatehouseUrl(path: string, origin = ORIGIN): string {
  return `${origin}${path.startsWith("/api/") ? `${DEFAULT_GATEHOUSE_PATH}${path}` : path}`;
}
/** `vars` for a parseConfig test, with the required PUBLIC_ORIGIN the test env has (vitest.config.ts). */
export function configured<T extends object>(vars: T): T & { PUBLIC_ORIGIN: string } {
  return { PUBLIC_ORIGIN: ORIGIN, ...vars };
}

export const START_MS = Date.UTC(2026, 10, 30, 12, 0, 0);

/** A clock the test moves by hand: no real sleeps. */
export class TestClock {
  ms = START_MS;
  readonly now = () => this.ms;
  advanceSeconds(seconds: number) {
    this.ms += seconds * 1000;
  }
}

export type ErrorBody = { error: string; message: string; [key: string]: unknown };

export type CallResult<T> = { status: number; body: T; headers: Headers; cookie: string | undefined };

export type CallOptions = {
  method?: string;
  body?: unknown;
  rawBody?: string;
  cookie?: string;
  headers?: Record<string, string>;
  env?: Bindings;
  ip?: string;
  /** The request's scheme and host (its URL and Host header), ORIGIN unless given. */
  origin?: string;
};

/** One app instance with its own clock; requests go through app.fetch inside workerd. */
export class Harness {
  readonly clock = new TestClock();
  readonly app = createApp({ now: this.clock.now });
  private readonly fixture = sessionFixture({ now: this.clock.now });

  async call<T = ErrorBody>(path: string, options: CallOptions = {}): Promise<CallResult<T>> {
    const headers = clientHeaders(options);
    if (options.cookie) headers.set("cookie", options.cookie);
    if (options.origin) headers.set("host", new URL(options.origin).host);
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers.set("content-type", "application/json");
    }
    const method = options.method ?? (body === undefined ? "GET" : "POST");
    const ctx = createExecutionContext();
    const res = await this.app.fetch(new Request(gatehouseUrl(path, options.origin), { method, headers, body }), options.env ?? env, ctx);
    await waitOnExecutionContext(ctx);
    await settleTenantObjects();
    const text = await res.text();
    const setCookie = res.headers.get("set-cookie") ?? undefined;
    const json = (res.headers.get("content-type") ?? "").includes("json");
    return { status: res.status, body: (text ? (json ? JSON.parse(text) : text) : null) as T, headers: res.headers, cookie: setCookie };
  }

  /** The user's current TOTP code at this harness's clock. */
  code(user: SeededUser): string {
    if (!user.totpSecret) throw new Error(`${user.email} has no TOTP`);
    return totpCodeAt(user.totpSecret, this.clock.ms);
  }

  /**
   * Earns a step-up grant. TOTP users get a fresh time step first (codes are single
   * use per user), others verify with their password.
   */
  async stepUp(cookie: string, purpose: StepUpPurpose | (string & {}), user: SeededUser) {
    let factor: Record<string, string>;
    if (user.totpSecret) {
      this.clock.advanceSeconds(30);
      factor = { code: this.code(user) };
    } else factor = { password: PASSWORD };
    const res = await this.call<{ success: boolean; expiresAt: string }>("/api/security/stepup/verify", { cookie, body: { purpose, ...factor } });
    if (res.status !== 200) throw new Error(`step-up failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /**
   * A session of `user` without signing in (test/session-fixture.ts), for tests not about
   * signing in: the cookie to send back. The clock moves as signIn moves it.
   */
  async session(user: SeededUser, options: Pick<CallOptions, "ip" | "headers" | "env"> = {}) {
    if (user.totpSecret) this.clock.advanceSeconds(30);
    const headers = clientHeaders(options);
    headers.set("content-type", "application/json");
    const res = await this.fixture.fetch(new Request(gatehouseUrl("/"), { method: "POST", headers, body: JSON.stringify({ userId: user.id }) }), options.env ?? env);
    const setCookie = res.headers.get("set-cookie");
    if (res.status !== 200 || !setCookie) throw new Error(`no session for ${user.email}: ${res.status} ${await res.text()}`);
    const body = await res.json<{ sessionId: string; userId: string }>();
    return { cookie: cookieHeader(setCookie), sessionId: body.sessionId, userId: body.userId };
  }

  /** Signs in through POST /api/auth/login (with the TOTP code when the user has one) and returns the cookie to send back. */
  async signIn(user: SeededUser, options: CallOptions = {}) {
    const extra: Record<string, string> = user.totpSecret ? { totpCode: this.code(user) } : {};
    if (user.totpSecret) this.clock.advanceSeconds(30);
    return this.login(user.email, PASSWORD, extra, options);
  }

  /** Signs in and returns the cookie header value to send back. */
  async login(email: string, password = PASSWORD, extra: Record<string, unknown> = {}, options: CallOptions = {}) {
    const res = await this.call<{ sessionId: string; user: { id: string } }>("/api/auth/login", { ...options, body: { email, password, ...extra } });
    if (res.status !== 200 || !res.cookie) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { cookie: cookieHeader(res.cookie), sessionId: res.body.sessionId, userId: res.body.user.id };
  }
}

/** The headers every harness request carries: the client's address (CF-Connecting-IP) and a browser's User-Agent. */
function clientHeaders(options: Pick<CallOptions, "ip" | "headers">): Headers {
  const headers = new Headers(options.headers);
  headers.set("cf-connecting-ip", options.ip ?? "203.0.113.10");
  if (!headers.has("user-agent")) headers.set("user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
  return headers;
}

export function cookieHeader(setCookie: string): string {
  return setCookie.split(";")[0] ?? "";
}

/**
 * The PBKDF2 cost of the seeded members' password hash. verifyPassword (src/lib/password.ts)
 * derives at the cost a stored hash records, so they sign in and step up through the real
 * path at a hundredth of the work (a run makes about 1,500 such checks). What production
 * stores is hashPassword's PBKDF2_ITERATIONS (password-hashing.test.ts pins it), and every
 * password set through the API (reset, invitation, change) is hashed by it. A test about the
 * work a sign-in does seeds at that cost: seedTenant's `productionPasswordCost`.
 */
export const SEEDED_PASSWORD_ITERATIONS = 1_000;

/** PASSWORD hashed in hashPassword's stored format, at `iterations`. */
async function passwordHashAt(iterations: number): Promise<string> {
  if (iterations === PBKDF2_ITERATIONS) return hashPassword(PASSWORD);
  const salt = randomBytes(16);
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(normalizePassword(PASSWORD)), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return `pbkdf2_sha256$${iterations}$${toBase64Url(salt)}$${toBase64Url(new Uint8Array(bits))}`;
}

/** One hash per cost for the file: salts need not differ between seeded members. */
const passwordHashes = new Map<number, Promise<string>>();

export type SeededUser = { id: string; email: string; role: Role; totpSecret: string | null };
export type SeededTenant = { id: string; slug: string; owner: SeededUser; admin: SeededUser; member: SeededUser };

/**
 * A fresh tenant with one user per role, written straight to D1. Unique per call.
 * Owner and admin have TOTP enabled (as in the demo data); the member has none. Their
 * password is PASSWORD, hashed at SEEDED_PASSWORD_ITERATIONS, or with
 * `productionPasswordCost` as hashPassword hashes it.
 */
export async function seedTenant(label = "t", options: { totp?: boolean; productionPasswordCost?: boolean } = {}): Promise<SeededTenant> {
  const withTotp = options.totp ?? true;
  const iterations = options.productionPasswordCost ? PBKDF2_ITERATIONS : SEEDED_PASSWORD_ITERATIONS;
  if (!passwordHashes.has(iterations)) passwordHashes.set(iterations, passwordHashAt(iterations));
  const passwordHash = await passwordHashes.get(iterations);
  const db = createDb(env.DB);
  const id = randomId("ten_");
  const slug = `${label}-${id.slice(4, 12)}`;
  await db.insert(tenants).values({ id, name: label, slug, createdAt: START_MS });
  const make = (role: Role): SeededUser => ({
    id: randomId("usr_"),
    email: `${role}@${slug}.test`,
    role,
    totpSecret: withTotp && role !== "member" ? generateTotpSecret() : null,
  });
  const owner = make("owner");
  const admin = make("admin");
  const member = make("member");
  const sealed = await Promise.all(
    [owner, admin, member].map((u) => (u.totpSecret ? sealSecret(env, u.totpSecret, u.id) : null)),
  );
  await db.insert(users).values(
    [owner, admin, member].map((u, i) => ({
      id: u.id,
      tenantId: id,
      email: u.email,
      displayName: `${u.role} of ${label}`,
      role: u.role,
      passwordHash: passwordHash as string,
      sessionVersion: 1,
      createdAt: START_MS,
      totpSecretEnc: sealed[i] ?? null,
      totpEnabled: u.totpSecret !== null,
    })),
  );
  return { id, slug, owner, admin, member };
}

/** A D1 binding that counts the statements prepared through it. */
export function countingD1(inner: D1Database): { db: D1Database; count: () => number } {
  let n = 0;
  const db = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "prepare" || prop === "exec") {
        return (...args: unknown[]) => {
          n++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, count: () => n };
}

/** A binding whose every method throws, to prove the app fails closed. */
export function brokenBinding<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get() {
      return () => {
        throw new Error(`${name} is down`);
      };
    },
  });
}

export function withEnv(overrides: Partial<Bindings>): Bindings {
  return { ...env, ...overrides };
}

/**
 * A D1 binding on which another request's (or run's) change lands between a caller's reads
 * and its write: `meanwhile` runs once, to its end on the real binding, just before the
 * first batch, or, with `armedBy`, before the first batch sent once a statement matching
 * it was prepared (the batch carrying that statement).
 */
export function d1WithChangeBeforeBatch(inner: D1Database, armedBy: RegExp | null, meanwhile: () => Promise<unknown>): D1Database {
  let armed = armedBy === null;
  let fired = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "prepare" && armedBy !== null) {
        return (query: string) => {
          if (armedBy.test(query)) armed = true;
          return target.prepare(query);
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (armed && !fired) {
            fired = true;
            await meanwhile();
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A D1 binding whose audit inserts fail, as if the audit table were unwritable. */
export function d1WithBrokenAudit(inner: D1Database): D1Database {
  const auditInsert = /insert\s+into\s+"?audit_outbox"?/i;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "prepare") {
        return (query: string) => target.prepare(auditInsert.test(query) ? query.replace(/"?audit_outbox"?/i, '"audit_outbox_unwritable"') : query);
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The app's API routes in registration order, with paths as the API contract names them (`/api/...`). */
export function apiRouteTable(app: ReturnType<typeof createApp>) {
  const prefix = `${DEFAULT_GATEHOUSE_PATH}/api/`;
  return app.routes.filter((r) => r.path.startsWith(prefix)).map((r) => ({ ...r, path: r.path.slice(DEFAULT_GATEHOUSE_PATH.length) }));
}

/**
 * The SCIM service's routes in registration order, with paths as docs/scim.md names them
 * (`/scim/v2/...`). Its app has an error handler of its own (SCIM's error shape), so Hono
 * mounts each of its handlers wrapped: the table gives the handler as it was declared.
 */
export function scimRouteTable(app: ReturnType<typeof createApp>) {
  const prefix = `${DEFAULT_GATEHOUSE_PATH}/scim/v2/`;
  return app.routes
    .filter((r) => r.path.startsWith(prefix))
    .map((r) => ({ ...r, path: r.path.slice(DEFAULT_GATEHOUSE_PATH.length), handler: (r.handler as { [COMPOSED_HANDLER]?: typeof r.handler })[COMPOSED_HANDLER] ?? r.handler }));
}

/** A D1 binding on which one table is unreadable (every query naming it fails), the rest as usual. */
export function d1WithTableGone(inner: D1Database, table: string): D1Database {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "prepare") return (query: string) => target.prepare(query.replaceAll(`"${table}"`, `"${table}_gone"`));
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** KV that reads as usual and refuses every write (put and delete). */
/** The tenants' objects (src/tenant-object/) as a network that cannot reach them: every call fails. */
export function tenantObjectsUnreachable(): Bindings["TENANT"] {
  const unreachable = new Proxy({}, { get: () => () => Promise.reject(new Error("Durable Object unavailable")) });
  return { idFromName: (name: string) => env.TENANT.idFromName(name), get: () => unreachable } as unknown as Bindings["TENANT"];
}

export function kvRefusingWrites(): KVNamespace {
  return new Proxy(env.SESSION_CACHE, {
    get(target, prop, receiver) {
      if (prop === "put" || prop === "delete") return () => Promise.reject(new Error("KV PUT failed: 503 Service Unavailable"));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
