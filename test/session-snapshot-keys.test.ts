import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { Harness, configured, seedTenant, withEnv } from "./helpers";
import { Jar, SNAPSHOT, browserSignIn, countingKv, env, keyOf, withSnapshotKeys } from "./snapshot-fixtures";

const sessionReads = (reads: string[]) => reads.filter((k) => k.startsWith("session:"));

describe("session snapshots: key rotation", () => {
  it("a snapshot signed with the previous key is used while that key is in the set; once it leaves, the session still works from its stored state", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const k1 = { id: "k1", key: keyOf("1") };
    const k2 = { id: "k2", key: keyOf("2") };
    const before = withSnapshotKeys([k1]);
    const login = await h.call("/api/auth/login", { body: { email: t.member.email, password: "correct horse battery staple" }, env: before });
    const jar = new Jar().take(login);
    expect(jar.cookies.get(SNAPSHOT)?.startsWith("k1.")).toBe(true);
    expect((await h.call("/api/me", { cookie: jar.header, env: before })).status).toBe(200);
    h.clock.advanceSeconds(2);

    const overlap = countingKv(env.SESSION_CACHE);
    const during = await h.call("/api/me", { cookie: jar.header, env: withSnapshotKeys([k2, k1], { SESSION_CACHE: overlap.kv }) });
    expect(during.status).toBe(200);
    expect(sessionReads(overlap.reads)).toEqual([]);

    const after = countingKv(env.SESSION_CACHE);
    const res = await h.call("/api/me", { cookie: jar.header, env: withSnapshotKeys([k2], { SESSION_CACHE: after.kv }) });
    expect(res.status).toBe(200);
    expect(sessionReads(after.reads)).toHaveLength(1);
    expect(new Jar().take(res).cookies.get(SNAPSHOT)?.startsWith("k2.")).toBe(true);
  });

  it("without SESSION_SNAPSHOT_KEYS no snapshot is issued or trusted: every request reads its session's stored state", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const { jar } = await browserSignIn(h, t.member);
    const off = withEnv({ SESSION_SNAPSHOT_KEYS: undefined });
    const kv = countingKv(env.SESSION_CACHE);
    h.clock.advanceSeconds(2);
    const res = await h.call("/api/me", { cookie: jar.header, env: { ...off, SESSION_CACHE: kv.kv } });
    expect(res.status).toBe(200);
    expect(sessionReads(kv.reads)).toHaveLength(1);
    const login = await h.call("/api/auth/login", { body: { email: t.member.email, password: "correct horse battery staple" }, env: off });
    expect(new Jar().take(login).cookies.has(SNAPSHOT)).toBe(false);
  });

  it("a malformed SESSION_SNAPSHOT_KEYS stops the configuration, naming the secret and never its value", () => {
    const value = "c2hvcnQta2V5"; // 9 bytes: well-formed, too short for HMAC-SHA-256
    expect(() => parseConfig(configured({ SESSION_SNAPSHOT_KEYS: value }))).toThrow(ConfigError);
    expect(() => parseConfig(configured({ SESSION_SNAPSHOT_KEYS: value }))).toThrow(/SESSION_SNAPSHOT_KEYS/);
    try {
      parseConfig(configured({ SESSION_SNAPSHOT_KEYS: value }));
    } catch (err) {
      expect(String(err)).not.toContain(value);
    }
  });
});
