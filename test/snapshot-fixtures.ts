import { env } from "cloudflare:workers";
import type { Bindings } from "../src/env";
import { type Harness, PASSWORD, type SeededUser, withEnv } from "./helpers";

/** A browser's cookie jar for one client: takes every Set-Cookie, sends them all back. */
export class Jar {
  readonly cookies = new Map<string, string>();

  take(res: { headers: Headers }): this {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }

  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  copy(): Jar {
    const jar = new Jar();
    for (const [k, v] of this.cookies) jar.cookies.set(k, v);
    return jar;
  }
}

export const SNAPSHOT = "__Host-gatehouse_snapshot";
export const SESSION = "__Host-gatehouse_session";

/** Signs in like a browser (TOTP when the user has one) and returns its jar and session id. */
export async function browserSignIn(h: Harness, user: SeededUser): Promise<{ jar: Jar; sessionId: string }> {
  const extra: Record<string, string> = user.totpSecret ? { totpCode: h.code(user) } : {};
  if (user.totpSecret) h.clock.advanceSeconds(30);
  const res = await h.call<{ sessionId: string }>("/api/auth/login", { body: { email: user.email, password: PASSWORD, ...extra } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  const jar = new Jar().take(res);
  if (!jar.cookies.has(SNAPSHOT)) throw new Error("sign-in set no snapshot cookie");
  return { jar, sessionId: res.body.sessionId };
}

/** A KV binding that records the key of every read. */
export function countingKv(inner: KVNamespace): { kv: KVNamespace; reads: string[] } {
  const reads: string[] = [];
  const kv = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "get" || prop === "getWithMetadata") {
        return (key: string, ...rest: unknown[]) => {
          reads.push(key);
          return (value as (...a: unknown[]) => unknown).apply(target, [key, ...rest]);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, reads };
}

/** The test env with another SESSION_SNAPSHOT_KEYS (a new env object: parsed afresh). */
export const withSnapshotKeys = (keys: { id: string; key: string }[], overrides: Partial<Bindings> = {}) =>
  withEnv({ SESSION_SNAPSHOT_KEYS: JSON.stringify(keys), ...overrides });

export const keyOf = (fill: string) => btoa(fill.repeat(32).slice(0, 32)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export { env };
