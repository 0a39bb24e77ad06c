/**
 * KV reads and keys touched per minute for N active users at one location (one isolate),
 * counted, not timed: each of N sessions of one tenant (50 IP rules) sends GET /api/me
 * every INTERVAL_S seconds of the harness's clock, evenly spread, for one minute, once as a
 * client with only the session cookie (the per-session path: RPC callers, clients that
 * drop cookies) and once as a browser that keeps the snapshot cookie it is given (then the
 * only key read is the tenant's edge document, once per isolate-second at most). Printed
 * as one `BENCH_RESULT {json}` line, which bench/run.mjs reads.
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { sha256Hex, toBase64Url } from "../src/lib/crypto";
import { Harness, seedTenant, withEnv } from "../test/helpers";
import { Jar } from "../test/snapshot-fixtures";
import { countingKv, seedFiftyRules } from "./workerd-fixtures";

const quick = (env as unknown as { BENCH_QUICK?: string }).BENCH_QUICK === "1";
const report = (name: string, value: unknown) => console.log(`BENCH_RESULT ${JSON.stringify({ name, value })}`);
const INTERVAL_S = 30;
const UA = "Mozilla/5.0 (bench)";

/** `n` live sessions of the tenant's member, written to D1 as sign-in writes them; their cookie headers. */
async function seedSessions(tenantId: string, userId: string, n: number, nowMs: number): Promise<string[]> {
  const cookies: string[] = [];
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < n; i++) {
    const id = `kvm${tenantId.slice(4, 12)}${String(i).padStart(6, "0")}`;
    const secret = toBase64Url(new TextEncoder().encode(`kv-per-minute-secret-${String(i).padStart(11, "0")}`)).slice(0, 43);
    cookies.push(`__Host-gatehouse_session=${id}.${secret}`);
    statements.push(
      env.DB.prepare(
        "INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, user_agent) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
      ).bind(id, tenantId, userId, await sha256Hex(secret), nowMs, nowMs, nowMs + 20 * 3_600_000, UA),
    );
  }
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200));
  return cookies;
}

async function oneMinute(n: number, keepSnapshots: boolean) {
  const h = new Harness();
  const t = await seedTenant(`kvm${n}${keepSnapshots ? "s" : "k"}`, { totp: false });
  await seedFiftyRules(t);
  const jars = (await seedSessions(t.id, t.member.id, n, h.clock.ms)).map((cookie) => {
    const jar = new Jar();
    const [name, value] = cookie.split("=") as [string, string];
    jar.cookies.set(name, value);
    return jar;
  });
  const send = async (jar: Jar, e = env) => {
    const res = await h.call("/api/me", { cookie: jar.header, env: e });
    if (res.status !== 200) throw new Error(`/api/me answered ${res.status}`);
    if (keepSnapshots) jar.take(res);
  };
  for (const jar of jars) await send(jar); // each session seen once before the minute (KV warm)
  const kv = countingKv(env.SESSION_CACHE);
  const counted = withEnv({ SESSION_CACHE: kv.kv });
  const perMinute = (60 / INTERVAL_S) * n;
  const stepMs = 60_000 / perMinute;
  const start = h.clock.ms;
  for (let i = 0; i < perMinute; i++) {
    h.clock.ms = start + Math.round(i * stepMs);
    await send(jars[i % n] as Jar, counted);
  }
  const reads = kv.ops.filter((o) => o.op === "get" || o.op === "getWithMetadata");
  const writes = kv.ops.filter((o) => o.op === "put" || o.op === "delete");
  const prefixes = (ops: { key: string }[]) =>
    Object.fromEntries([...new Set(ops.map((o) => o.key.split(":")[0]))].map((p) => [p, ops.filter((o) => o.key.startsWith(`${p}:`)).length]));
  return {
    requests: perMinute,
    kvReads: reads.length,
    kvKeysRead: new Set(reads.map((o) => o.key)).size,
    kvWrites: writes.length,
    kvKeysTouched: new Set(kv.ops.map((o) => o.key)).size,
    readsByPrefix: prefixes(reads),
  };
}

it("counts KV reads and keys touched per minute for N active users at one location", async () => {
  const figures = [];
  for (const n of quick ? [100] : [100, 1000]) {
    figures.push({ users: n, intervalSeconds: INTERVAL_S, sessionCookieOnly: await oneMinute(n, false), withSnapshots: await oneMinute(n, true) });
  }
  report("kvPerMinute", figures);
}, 170_000);
