/**
 * KV's published rule, enforced for the bench: one write (put or delete) per key per
 * second. A second write of a key within WRITE_SPACING_MS of its last accepted write throws
 * as a production binding does on a 429. Every attempt is recorded (key, time, accepted), so
 * the bench can count writes per key per second.
 *
 * The state is module-level: the request handlers and the tenant's Durable Object, where
 * they share an isolate, see one count. Used by the Worker entry bench/tenant-load.mjs
 * generates next to this file (index.generated.ts); never part of Gatehouse's own bundle.
 */
const WRITE_SPACING_MS = 1000;
const MAX_EVENTS = 500_000;

type WriteEvent = { key: string; at: number; accepted: boolean; op: "put" | "delete" };

const lastAccepted = new Map<string, number>();
const events: WriteEvent[] = [];

function admit(key: string, op: "put" | "delete"): void {
  const now = Date.now();
  const last = lastAccepted.get(key);
  const accepted = last === undefined || now - last >= WRITE_SPACING_MS;
  if (events.length < MAX_EVENTS) events.push({ key, at: now, accepted, op });
  if (!accepted) throw new Error(`KV ${op.toUpperCase()} failed: 429 Too Many Requests`);
  lastAccepted.set(key, now);
}

/** `kv` with put and delete refused as KV refuses them; reads untouched. */
function limitedKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "put") {
        return (key: string, ...rest: unknown[]) => {
          admit(key, "put");
          return (target.put as (...args: unknown[]) => Promise<void>)(key, ...rest);
        };
      }
      if (prop === "delete") {
        return (key: string) => {
          admit(key, "delete");
          return target.delete(key);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const wrapped = new WeakMap<object, object>();

/** `env` with SESSION_CACHE limited (the same wrapper for the same env object). */
export function limitedEnv<E extends { SESSION_CACHE: KVNamespace }>(env: E): E {
  const known = wrapped.get(env);
  if (known) return known as E;
  const limited = { ...env, SESSION_CACHE: limitedKv(env.SESSION_CACHE) } as E;
  wrapped.set(env, limited);
  return limited;
}

/** The most events whose times fall in any window [t, t + 1000 ms). `times` sorted. */
function maxPerSecond(times: number[]): number {
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while ((times[j] as number) - (times[i] as number) >= WRITE_SPACING_MS) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

/** The writes between `from` and `to` (ms): of keys starting with `prefix`, and of all keys. */
export function writeReport(prefix: string, from: number, to: number) {
  const inWindow = events.filter((e) => e.at >= from && e.at <= to);
  const ofKey = inWindow.filter((e) => e.key.startsWith(prefix));
  const keys = new Set(ofKey.map((e) => e.key));
  const perKey = [...keys].map((key) => {
    const mine = ofKey.filter((e) => e.key === key);
    return {
      key,
      attempts: mine.length,
      accepted: mine.filter((e) => e.accepted).length,
      refused: mine.filter((e) => !e.accepted).length,
      deletes: mine.filter((e) => e.op === "delete" && e.accepted).length,
      maxAttemptsPerSecond: maxPerSecond(mine.map((e) => e.at)),
      maxAcceptedPerSecond: maxPerSecond(mine.filter((e) => e.accepted).map((e) => e.at)),
    };
  });
  const byPrefix: Record<string, { attempts: number; refused: number }> = {};
  for (const e of inWindow) {
    const kind = (byPrefix[e.key.split(":")[0] ?? ""] ??= { attempts: 0, refused: 0 });
    kind.attempts++;
    if (!e.accepted) kind.refused++;
  }
  return {
    prefix,
    from,
    to,
    keys: perKey,
    allKeys: { attempts: inWindow.length, refused: inWindow.filter((e) => !e.accepted).length, distinctKeys: new Set(inWindow.map((e) => e.key)).size, byPrefix },
    truncated: events.length >= MAX_EVENTS,
  };
}
