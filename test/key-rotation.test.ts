// Keys rotate without downtime: what a previous key made keeps working while that key is
// in its set, moves to the current key on use and in the scheduled run, and a key that is
// missing, wrong or unknown is a 503, never a 500 and never a pass.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { runKeyRotation } from "../src/key-rotation";
import { fromBase64Url, randomBytes, toBase64Url } from "../src/lib/crypto";
import { resealSecret } from "../src/stepup/reseal";
import { totpCodeAt } from "../src/stepup/totp";
import { createDb } from "../src/db/client";
import type { Bindings } from "../src/env";
import { createWorker } from "../src/worker";
import { runRetention } from "../src/audit/retention";
import { checkpointKey, signCheckpoint } from "../src/audit/checkpoint";
import { LOGIN_ACCOUNT_LIMITS, loginKeys } from "../src/auth/throttle";
import { Harness, PASSWORD, START_MS, type SeededUser, cookieHeader, gatehouseUrl, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

/** The key the test environment holds, bare (vitest.config.ts): a deployment before key sets. */
const LOCAL_TOTP_KEY = env.TOTP_ENCRYPTION_KEY as string;
const NEW_TOTP_KEY = toBase64Url(new Uint8Array(32).fill(42));
const keySet = (...keys: [string, string][]) => JSON.stringify(keys.map(([id, key]) => ({ id, key })));
/** TOTP_ENCRYPTION_KEY mid-rotation: k2 current, the bare key of before kept as k0. */
const overlapEnv = () => withEnv({ TOTP_ENCRYPTION_KEY: keySet(["k2", NEW_TOTP_KEY], ["k0", LOCAL_TOTP_KEY]) });
/** After the previous key was dropped. */
const newKeyOnlyEnv = () => withEnv({ TOTP_ENCRYPTION_KEY: keySet(["k2", NEW_TOTP_KEY]) });

async function sealedOf(userId: string, column = "totp_secret_enc"): Promise<string> {
  const row = await env.DB.prepare(`SELECT ${column} AS sealed FROM users WHERE id = ?`).bind(userId).first<{ sealed: string }>();
  return row?.sealed ?? "";
}

/** A secret sealed as deployments did before key ids: `v1.<iv>.<ct>` under the bare key. */
async function sealV1(secret: string, userId: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", fromBase64Url(LOCAL_TOTP_KEY), "AES-GCM", false, ["encrypt"]);
  const iv = randomBytes(12);
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) }, key, new TextEncoder().encode(secret));
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

async function stepUp(h: Harness, cookie: string, user: SeededUser, stepUpEnv: Bindings, code = h.code(user)) {
  return h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code }, env: stepUpEnv });
}

async function adminSignedIn() {
  const h = new Harness();
  const t = await seedTenant("rot");
  const { cookie } = await h.session(t.admin);
  h.clock.advanceSeconds(30);
  return { h, t, cookie };
}

describe("TOTP_ENCRYPTION_KEY rotation", () => {
  it("a TOTP secret sealed before key ids existed still verifies, and is re-sealed under the current key", async () => {
    const { h, t, cookie } = await adminSignedIn();
    await env.DB.prepare("UPDATE users SET totp_secret_enc = ? WHERE id = ?").bind(await sealV1(t.admin.totpSecret as string, t.admin.id), t.admin.id).run();
    expect((await stepUp(h, cookie, t.admin, overlapEnv())).status).toBe(200);
    expect(await sealedOf(t.admin.id)).toMatch(/^v2\.k2\./);
  });

  it("a TOTP secret sealed under a previous key verifies during the overlap and is re-sealed under the current key on success", async () => {
    const { h, t, cookie } = await adminSignedIn();
    expect(await sealedOf(t.admin.id)).toMatch(/^v2\.k0\./);
    expect((await stepUp(h, cookie, t.admin, overlapEnv())).status).toBe(200);
    expect(await sealedOf(t.admin.id)).toMatch(/^v2\.k2\./);
    h.clock.advanceSeconds(30);
    expect((await stepUp(h, cookie, t.admin, newKeyOnlyEnv())).status).toBe(200);
  });

  it("a wrong code re-seals nothing", async () => {
    const { h, t, cookie } = await adminSignedIn();
    const before = await sealedOf(t.admin.id);
    const wrong = h.code(t.admin) === "000000" ? "111111" : "000000";
    expect((await stepUp(h, cookie, t.admin, overlapEnv(), wrong)).status).toBe(401);
    expect(await sealedOf(t.admin.id)).toBe(before);
  });

  it("a TOTP secret whose key left the set answers 503 MFA_UNAVAILABLE, never a pass", async () => {
    const { h, t, cookie } = await adminSignedIn();
    const res = await stepUp(h, cookie, t.admin, newKeyOnlyEnv());
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("MFA_UNAVAILABLE");
  });

  it("a wrong key under the secret's key id answers 503 MFA_UNAVAILABLE, never a pass", async () => {
    const { h, t, cookie } = await adminSignedIn();
    const res = await stepUp(h, cookie, t.admin, withEnv({ TOTP_ENCRYPTION_KEY: NEW_TOTP_KEY }));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("MFA_UNAVAILABLE");
  });

  it("a missing TOTP key answers 503 MFA_UNAVAILABLE, never a pass", async () => {
    const { h, t, cookie } = await adminSignedIn();
    const res = await stepUp(h, cookie, t.admin, withEnv({ TOTP_ENCRYPTION_KEY: undefined }));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("MFA_UNAVAILABLE");
  });

  it("a malformed TOTP key set answers 503, never a 500 or a pass", async () => {
    const { h, t, cookie } = await adminSignedIn();
    const res = await stepUp(h, cookie, t.admin, withEnv({ TOTP_ENCRYPTION_KEY: keySet(["k2", "c2hvcnQ"]) }));
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("CONFIG_INVALID");
  });

  it("an enrolment started under the previous key confirms after the promotion", async () => {
    const h = new Harness();
    const t = await seedTenant("pend");
    const { cookie } = await h.login(t.member.email);
    expect((await h.call("/api/security/stepup/verify", { cookie, body: { purpose: "MFA_ENROLL", password: PASSWORD } })).status).toBe(200);
    const enroll = await h.call<{ secret: string }>("/api/security/mfa/totp/enroll", { cookie, method: "POST" });
    expect(await sealedOf(t.member.id, "totp_pending_secret_enc")).toMatch(/^v2\.k0\./);
    const confirm = await h.call("/api/security/mfa/totp/confirm", { cookie, body: { code: totpCodeAt(enroll.body.secret, h.clock.ms) }, env: overlapEnv() });
    expect(confirm.status).toBe(200);
    expect((await h.call<{ user: { totpEnabled: boolean } }>("/api/me", { cookie })).body.user.totpEnabled).toBe(true);
  });

  it("a re-seal never overwrites a secret that changed meanwhile", async () => {
    const t = await seedTenant("cas");
    const current = await sealedOf(t.admin.id);
    const changed = await resealSecret(createDb(env.DB), overlapEnv(), t.admin.id, "totpSecretEnc", "v1.not.what-is-stored", t.admin.totpSecret as string);
    expect(changed).toBe(false);
    expect(await sealedOf(t.admin.id)).toBe(current);
  });
});

describe("the scheduled run moves TOTP secrets to the current key", () => {
  it("every stale secret, enabled or pending, is re-sealed; one that does not open is left as it is", async () => {
    const t = await seedTenant("batch");
    await env.DB.prepare("UPDATE users SET totp_pending_secret_enc = ? WHERE id = ?").bind(await sealV1("JBSWY3DPEHPK3PXP", t.member.id), t.member.id).run();
    const unopenable = `v2.gone.${toBase64Url(randomBytes(12))}.${toBase64Url(randomBytes(30))}`;
    await env.DB.prepare("UPDATE users SET totp_secret_enc = ? WHERE id = ?").bind(unopenable, t.owner.id).run();

    const rotated = overlapEnv();
    const ctx = createExecutionContext();
    await createWorker(rotated).scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), rotated, ctx);
    await waitOnExecutionContext(ctx);

    expect(await sealedOf(t.admin.id)).toMatch(/^v2\.k2\./);
    expect(await sealedOf(t.member.id, "totp_pending_secret_enc")).toMatch(/^v2\.k2\./);
    expect(await sealedOf(t.owner.id)).toBe(unopenable);
    const after = await runKeyRotation(rotated, Date.now());
    expect(after.totpSecrets).toMatchObject({ resealed: 0, done: true });
  });

  it("a run examines no more rows than its limit", async () => {
    await seedTenant("bounded");
    const result = await runKeyRotation(withEnv({ TOTP_ENCRYPTION_KEY: keySet(["k3", toBase64Url(new Uint8Array(32).fill(3))], ["k0", LOCAL_TOTP_KEY]) }), Date.now(), { totpRows: 2, checkpoints: 1 });
    expect(result.totpSecrets).toMatchObject({ examined: 2, done: false });
  });
});

describe("key rotation jobs resume where they stopped", () => {
  /** Users whose ids sort before any other (randomId never makes a 0), sealed as `sealed(id)`. */
  async function firstUsers(tenantId: string, ids: string[], sealed: (id: string) => Promise<string>) {
    for (const id of ids) {
      await env.DB.prepare("INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at, totp_secret_enc, totp_enabled) VALUES (?, ?, ?, 'x', 'member', 'x', 1, ?, ?, 1)")
        .bind(id, tenantId, `${id}@first.test`, START_MS, await sealed(id))
        .run();
    }
  }

  it("a re-seal run after a run full of unopenable secrets reaches the rest", async () => {
    const t = await seedTenant("stall");
    const unopenable = ["usr_0000000000000000000001", "usr_0000000000000000000002", "usr_0000000000000000000003"];
    const openable = "usr_0000000000000000000004";
    await firstUsers(t.id, unopenable, async () => `v2.gone.${toBase64Url(randomBytes(12))}.${toBase64Url(randomBytes(30))}`);
    await firstUsers(t.id, [openable], (id) => sealV1("JBSWY3DPEHPK3PXP", id));
    await env.DB.prepare("DELETE FROM retention_cursors WHERE job = 'totp-reseal'").run();

    const first = await runKeyRotation(overlapEnv(), START_MS, { totpRows: unopenable.length, checkpoints: 0 });
    expect(first.totpSecrets).toMatchObject({ examined: 3, unopenable: 3, resealed: 0 });
    const second = await runKeyRotation(overlapEnv(), START_MS, { totpRows: 1, checkpoints: 0 });
    expect(second.totpSecrets).toMatchObject({ examined: 1, resealed: 1 });
    expect(await sealedOf(openable)).toMatch(/^v2\.k2\./);
    await env.DB.prepare("DELETE FROM users WHERE id LIKE 'usr_0%'").run();
  });

  it("a re-sign run after a run full of unauthentic checkpoints reaches the rest", async () => {
    const local = await checkpointKey(env);
    if (!local) throw new Error("no checkpoint key");
    const fields = { seq: 1, hash: "0".repeat(64), prunedAt: START_MS, lastCreatedAt: START_MS - 3 * 86_400_000, retentionDays: 2 };
    // Tenants sorting first, each with a checkpoint in its object.
    const insert = async (tenantId: string, mac: string) => {
      await env.DB.prepare("INSERT INTO tenants (id, name, slug, created_at) VALUES (?, ?, ?, ?)").bind(tenantId, tenantId, tenantId, START_MS).run();
      await auditStore.prepare("INSERT INTO audit_checkpoints (tenant_id, seq, hash, pruned_at, last_created_at, retention_days, mac) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(tenantId, fields.seq, fields.hash, fields.prunedAt, fields.lastCreatedAt, fields.retentionDays, mac)
        .run();
    };
    await insert("ten_0000000000000000000001", `k0.${toBase64Url(randomBytes(32))}`);
    await insert("ten_0000000000000000000002", `k0.${toBase64Url(randomBytes(32))}`);
    const genuine = "ten_0000000000000000000003";
    await insert(genuine, await signCheckpoint(local, { tenantId: genuine, ...fields }));
    await env.DB.prepare("DELETE FROM retention_cursors WHERE job = 'checkpoint-resign'").run();
    const overlap = withEnv({ AUDIT_CHECKPOINT_KEY: keySet(["c9", toBase64Url(new Uint8Array(32).fill(9))], ["k0", env.AUDIT_CHECKPOINT_KEY as string]) });

    const first = await runKeyRotation(overlap, START_MS, { totpRows: 0, checkpoints: 2 });
    expect(first.checkpoints).toMatchObject({ unauthentic: 2, resigned: 0 });
    const second = await runKeyRotation(overlap, START_MS, { totpRows: 0, checkpoints: 1 });
    expect(second.checkpoints).toMatchObject({ unauthentic: 0, resigned: 1 });
    const mac = await auditStore.prepare("SELECT mac FROM audit_checkpoints WHERE tenant_id = ?").bind(genuine).first<{ mac: string }>();
    expect(mac?.mac).toMatch(/^c9\./);
    for (const tenantId of ["ten_0000000000000000000001", "ten_0000000000000000000002", genuine]) {
      await auditStore.prepare("DELETE FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).run();
      await env.DB.prepare("DELETE FROM tenants WHERE id = ?").bind(tenantId).run();
    }
  });
});

describe("device cookies across a TOTP_ENCRYPTION_KEY rotation", () => {
  let next = 1;
  const freshIp = () => `198.19.${(next >> 8) & 255}.${next++ & 255}`;
  const signIn = (h: Harness, email: string, options: { cookie?: string; env?: Bindings } = {}) =>
    h.call("/api/auth/login", { ...options, ip: freshIp(), body: { email, password: PASSWORD } });
  const deviceCookieOf = (res: { headers: Headers }) => {
    const set = res.headers.getSetCookie().find((c) => c.startsWith("__Host-gatehouse_device="));
    if (!set) throw new Error("no device cookie");
    return cookieHeader(set);
  };
  async function fullAccount(label: string) {
    const h = new Harness();
    const t = await seedTenant(label);
    const cookie = deviceCookieOf(await signIn(h, t.member.email));
    const [quarter] = LOGIN_ACCOUNT_LIMITS;
    await env.DB.prepare("INSERT OR REPLACE INTO attempt_counters (key, failures, window_started_at) VALUES (?, ?, ?)")
      .bind(loginKeys.account(t.member.email, quarter), quarter.maxAttempts, h.clock.ms)
      .run();
    expect((await signIn(h, t.member.email)).status).toBe(429);
    return { h, t, cookie };
  }

  it("a device cookie made under a previous key passes during the overlap and is renewed under the current key", async () => {
    const { h, t, cookie } = await fullAccount("devrot");
    const res = await signIn(h, t.member.email, { cookie, env: overlapEnv() });
    expect(res.status).toBe(200);
    expect(deviceCookieOf(res)).toMatch(/^__Host-gatehouse_device=dev_[a-z0-9]{24}\.k2\./);
  });

  it("a device cookie whose key left the set counts for nothing", async () => {
    const { h, t, cookie } = await fullAccount("devgone");
    expect((await signIn(h, t.member.email, { cookie, env: newKeyOnlyEnv() })).status).toBe(429);
  });

  it("a device cookie made before key ids still passes", async () => {
    const { h, t, cookie } = await fullAccount("devlegacy");
    const legacy = cookie.replace(/\.k0\./, ".");
    expect(legacy).not.toBe(cookie);
    expect((await signIn(h, t.member.email, { cookie: legacy })).status).toBe(200);
  });
});

describe("audit checkpoints across an AUDIT_CHECKPOINT_KEY rotation", () => {
  const LOCAL_CHECKPOINT_KEY = env.AUDIT_CHECKPOINT_KEY as string;
  const NEW_CHECKPOINT_KEY = toBase64Url(new Uint8Array(32).fill(7));
  const overlap = () => withEnv({ AUDIT_CHECKPOINT_KEY: keySet(["c2", NEW_CHECKPOINT_KEY], ["k0", LOCAL_CHECKPOINT_KEY]) });
  const newOnly = () => withEnv({ AUDIT_CHECKPOINT_KEY: keySet(["c2", NEW_CHECKPOINT_KEY]) });

  /** A tenant whose first rows were pruned under the bare key of before (its checkpoint names k0). */
  async function prunedTenant(label: string) {
    const h = new Harness();
    const t = await seedTenant(label);
    await h.login(t.member.email);
    h.clock.advanceSeconds(3 * 86_400);
    await h.login(t.member.email);
    await runRetention(withEnv({ AUDIT_RETENTION_DAYS: "2" }), h.clock.ms);
    expect(await macOf(t.id)).toMatch(/^k0\./);
    const owner = await h.session(t.owner);
    const verify = (verifyEnv: Bindings) => h.call<{ ok: boolean; reason: string | null }>("/api/audit-logs/verify", { cookie: owner.cookie, env: verifyEnv });
    return { t, verify };
  }
  const macOf = async (tenantId: string) =>
    (await auditStore.prepare("SELECT mac FROM audit_checkpoints WHERE tenant_id = ?").bind(tenantId).first<{ mac: string }>())?.mac ?? "";

  it("a checkpoint written under a previous key still verifies during the overlap, and one written before key ids too", async () => {
    const { t, verify } = await prunedTenant("cprot");
    expect((await verify(overlap())).body).toMatchObject({ ok: true });
    await auditStore.prepare("UPDATE audit_checkpoints SET mac = substr(mac, 4) WHERE tenant_id = ?").bind(t.id).run();
    expect((await verify(overlap())).body).toMatchObject({ ok: true });
  });

  it("a checkpoint whose key left the set is unauthentic", async () => {
    const { verify } = await prunedTenant("cpgone");
    expect((await verify(newOnly())).body).toMatchObject({ ok: false, reason: "CHECKPOINT_UNAUTHENTIC" });
  });

  it("the scheduled run re-signs checkpoints under the current key, so the previous key can go; an unauthentic one is left", async () => {
    const { t, verify } = await prunedTenant("cpresign");
    const forged = await prunedTenant("cpforged");
    await auditStore.prepare("UPDATE audit_checkpoints SET mac = ? WHERE tenant_id = ?").bind(`k0.${toBase64Url(randomBytes(32))}`, forged.t.id).run();
    const forgedMac = await macOf(forged.t.id);
    const result = await runKeyRotation(overlap(), Date.now());
    expect(result.checkpoints).toMatchObject({ unauthentic: 1 });
    expect(await macOf(t.id)).toMatch(/^c2\./);
    expect((await verify(newOnly())).body).toMatchObject({ ok: true });
    expect(await macOf(forged.t.id)).toBe(forgedMac);
  });
});

describe("configuration is validated at startup and in the cron", () => {
  const badKey = "c2hvcnQ";
  const badEnv = () => withEnv({ TOTP_ENCRYPTION_KEY: keySet(["k1", badKey]) });

  it("a malformed configuration answers every request 503 CONFIG_INVALID and logs the secret's name, never its value", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const worker = createWorker(badEnv());
      const res = await worker.fetch(new Request(gatehouseUrl("/api/health")), badEnv(), createExecutionContext());
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: "CONFIG_INVALID" });
      const lines = logged.mock.calls.map((args) => String(args[0])).join("\n");
      expect(lines).toContain("TOTP_ENCRYPTION_KEY");
      expect(lines).not.toContain(badKey);
    } finally {
      logged.mockRestore();
    }
  });

  it("the scheduled handler refuses to run on a malformed configuration, logging the problem, and throws nothing", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const ctx = createExecutionContext();
      const cronEnv = withEnv({ AUDIT_RETENTION_DAYS: "0" });
      await expect(createWorker(env).scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), cronEnv, ctx)).resolves.toBeUndefined();
      await waitOnExecutionContext(ctx);
      const lines = logged.mock.calls.map((args) => JSON.parse(String(args[0])) as { msg: string; problem?: string });
      expect(lines).toContainEqual(expect.objectContaining({ msg: "scheduled run refused: configuration invalid", problem: expect.stringMatching(/AUDIT_RETENTION_DAYS/) }));
      expect(info).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      info.mockRestore();
    }
  });

  it("a request that reaches a route with an invalid configuration answers 503 CONFIG_INVALID, never 500", async () => {
    const h = new Harness();
    const t = await seedTenant("cfg");
    const { cookie } = await h.session(t.member);
    const res = await h.call("/api/me", { cookie, env: withEnv({ SESSION_IDLE_TIMEOUT_SECONDS: "0" }) });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("CONFIG_INVALID");
  });
});
