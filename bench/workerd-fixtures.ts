// Shared by the bench's in-workerd files: a KV binding that records what it is asked, and
// the 50 IP rules of the HTTP bench, written for one tenant.
import { env } from "cloudflare:workers";
import { createDb } from "../src/db/client";
import { ipRules } from "../src/db/schema";
import { START_MS, type SeededTenant } from "../test/helpers";

/** A KV binding that records every operation made through it. */
export function countingKv(inner: KVNamespace) {
  const ops: { op: string; key: string }[] = [];
  const kv = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        ops.push({ op: String(prop), key: typeof args[0] === "string" ? args[0] : "" });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv, ops };
}

const isRead = (op: string) => op === "get" || op === "getWithMetadata" || op === "list";

/** The recorded operations as the bench reports them: reads, writes, and key prefixes only (which entries, not whose). */
export function kvSummary(ops: { op: string; key: string }[]) {
  return {
    kvReads: ops.filter((o) => isRead(o.op)).length,
    kvWrites: ops.filter((o) => !isRead(o.op)).length,
    kvKeys: ops.map((o) => `${o.op} ${o.key.split(":")[0]}:…`),
  };
}

/** 50 rules in effect that let the harness's address (203.0.113.10) in, as in the HTTP bench. */
export async function seedFiftyRules(t: SeededTenant) {
  const rules = Array.from({ length: 50 }, (_, i) => ({
    id: `iprb_${t.id}_${i}`,
    tenantId: t.id,
    action: i === 0 || i % 4 === 1 ? ("allow" as const) : ("deny" as const),
    cidr: i === 0 ? "203.0.113.0/24" : i % 4 === 1 ? `198.51.${i}.0/24` : i % 4 === 2 ? `10.${i}.0.0/16` : `2001:db8:${i.toString(16)}::/48`,
    description: null,
    createdBy: t.owner.id,
    createdAt: START_MS,
    updatedAt: START_MS,
    expiresAt: null,
  }));
  // D1 binds at most 100 parameters per statement: 10 rows (90) per INSERT.
  const db = createDb(env.DB);
  const chunks = Array.from({ length: 5 }, (_, i) => db.insert(ipRules).values(rules.slice(i * 10, i * 10 + 10)));
  await db.batch([chunks[0]!, ...chunks.slice(1)]);
}
