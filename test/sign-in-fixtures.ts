// Bindings that list the storage work a sign-in does: each D1 statement as it runs (its
// SQL; batch members one by one, in order) and each KV call (method and key). The sign-in
// tests compare these lists for a known and an unknown email instead of timing them.

/**
 * A D1 binding that lists into `log` the SQL of every statement it runs, as `D1 <sql>`.
 * With `hold`, statements whose SQL matches `hold.sql` wait for `hold.until` before they
 * run (and are listed).
 */
export function recordingD1(inner: D1Database, log: string[], hold?: { sql: RegExp; until: Promise<void> }): D1Database {
  const held = async (sql: string[]) => {
    if (hold && sql.some((s) => hold.sql.test(s))) await hold.until;
    log.push(...sql.map((s) => `D1 ${s}`));
  };
  const originals = new WeakMap<object, { stmt: D1PreparedStatement; sql: string }>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy: D1PreparedStatement = new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args), sql);
        if (prop === "all" || prop === "run" || prop === "raw" || prop === "first") {
          return async (...args: unknown[]) => {
            await held([sql]);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    originals.set(proxy, { stmt, sql });
    return proxy;
  };
  const db = new Proxy(inner, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const real = statements.map((s) => originals.get(s) ?? { stmt: s, sql: "?" });
          await held(real.map((r) => r.sql));
          return target.batch(real.map((r) => r.stmt));
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return db;
}

/** A KV binding that lists each call into `log` as `KV <method> <key>`, the key passed through `shape` (e.g. to hide a tenant id). */
export function recordingKv(inner: KVNamespace, log: string[], shape: (key: string) => string = (key) => key): KVNamespace {
  const kv = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "get" || prop === "getWithMetadata" || prop === "put" || prop === "delete" || prop === "list") {
        return (key: unknown, ...rest: unknown[]) => {
          log.push(`KV ${String(prop)} ${typeof key === "string" ? shape(key) : "(list)"}`);
          return (value as (...a: unknown[]) => unknown).apply(target, [key, ...rest]);
        };
      }
      return value.bind(target);
    },
  });
  return kv;
}
