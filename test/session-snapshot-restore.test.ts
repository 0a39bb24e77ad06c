// After a D1 restore, `npm run cache:rebuild` (scripts/cache-rebuild.mjs) records the
// rebuild in D1 (`cache_rebuilds`) and empties KV: the tenant's edge document rebuilt from
// D1 then carries the rebuild's time, and no snapshot whose state was read from D1 before
// it is used (src/sessions/snapshot-check.ts). The script's own D1 write and KV emptying are
// checked by scripts/check-cache-rebuild.mjs.
import { afterEach, describe, expect, it } from "vitest";
import { tenantEdgeKey } from "../src/edge-document/document";
import { Harness, seedTenant, withEnv } from "./helpers";
import { SNAPSHOT, browserSignIn, countingKv, env } from "./snapshot-fixtures";

const sessionReads = (reads: string[]) => reads.filter((k) => k.startsWith("session:"));

/** What cache:rebuild does, at the test clock's time: the rebuild recorded in D1, then the tenant's KV keys gone. */
async function rebuildCache(h: Harness, tenantId: string, sessionIds: string[]) {
  await env.DB.prepare("INSERT INTO cache_rebuilds (id, rebuilt_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET rebuilt_at = excluded.rebuilt_at").bind(h.clock.ms).run();
  await Promise.all([tenantEdgeKey(tenantId), ...sessionIds.map((id) => `session:${id}`)].map((key) => env.SESSION_CACHE.delete(key)));
}

/** A member with two browsers, both snapshots used once; then the clock moves on and D1 is "restored" to before the first one's sign-in. */
async function restoredAfterTwoSignIns() {
  const h = new Harness();
  const t = await seedTenant();
  const kept = await browserSignIn(h, t.member);
  h.clock.advanceSeconds(10); // the restore point lies here
  const gone = await browserSignIn(h, t.member);
  for (const b of [kept, gone]) expect((await h.call("/api/me", { cookie: b.jar.header })).status).toBe(200);
  h.clock.advanceSeconds(20);
  // The restore: a session created after the restore point no longer exists in D1.
  await env.DB.prepare("DELETE FROM user_sessions WHERE id = ?").bind(gone.sessionId).run();
  await rebuildCache(h, t.id, [kept.sessionId, gone.sessionId]);
  h.clock.advanceSeconds(2); // past every in-isolate copy
  return { h, t, kept, gone };
}

describe("session snapshots after a D1 restore and the cache rebuild", () => {
  afterEach(async () => {
    await env.DB.prepare("DELETE FROM cache_rebuilds").run();
  });

  it("a snapshot issued before the restore is not used once the cache is rebuilt: a session the restore removed is refused, though its snapshot is fresh", async () => {
    const { h, gone } = await restoredAfterTwoSignIns();
    const res = await h.call("/api/me", { cookie: gone.jar.header });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("UNAUTHORIZED");
  });

  it("a session the restore kept goes on through D1 after the cache rebuild, and the snapshot it is then given is used again", async () => {
    const { h, kept } = await restoredAfterTwoSignIns();
    const before = countingKv(env.SESSION_CACHE);
    const first = await h.call("/api/me", { cookie: kept.jar.header, env: withEnv({ SESSION_CACHE: before.kv }) });
    expect(first.status).toBe(200);
    // The snapshot was not used: the session's KV entry was looked up (gone: read from the restored D1).
    expect(sessionReads(before.reads)).toEqual([`session:${kept.sessionId}`]);
    const jar = kept.jar.copy().take(first);
    expect(jar.cookies.get(SNAPSHOT)).not.toBe(kept.jar.cookies.get(SNAPSHOT));
    h.clock.advanceSeconds(2);
    const after = countingKv(env.SESSION_CACHE);
    expect((await h.call("/api/me", { cookie: jar.header, env: withEnv({ SESSION_CACHE: after.kv }) })).status).toBe(200);
    expect(sessionReads(after.reads)).toEqual([]);
  });
});
