// Demo data for local runs only (README: "Demo data"). Never used by a deploy.
import { webcrypto as crypto } from "node:crypto";

export const DEMO_PASSWORD = "gatehouse-demo-pass";
// Local-only AES-GCM key for TOTP secrets: written to .dev.vars for `npm start`.
export const LOCAL_TOTP_KEY = "bG9jYWwtb25seS1nYXRlaG91c2UtdG90cC1rZXktMDA";
// Local-only HMAC key for audit retention checkpoints: written to .dev.vars likewise.
export const LOCAL_AUDIT_CHECKPOINT_KEY = "bG9jYWwtb25seS1nYXRlaG91c2UtYXVkaXQtY2hlY2twb2ludC1rZXktMA";
// Local-only key set (src/lib/key-set.ts) for the session snapshots' HMAC: written to .dev.vars likewise.
export const LOCAL_SESSION_SNAPSHOT_KEYS = JSON.stringify([{ id: "local1", key: "bG9jYWwtb25seS1nYXRlaG91c2Utc25hcHNob3QtazE" }]);
// Local-only bearer token of the operator API (npm run gatehouse): written to .dev.vars likewise.
export const LOCAL_OPERATOR_TOKEN = "local-only-gatehouse-operator-token-0000";

/**
 * PUBLIC_ORIGIN of a local run on `port`: the address `npm start` serves (scripts/start.mjs
 * passes it to wrangler dev) and e2e opens, so the links Gatehouse prints lead back to it.
 */
export const localPublicOrigin = (port) => `http://localhost:${port}`;

/**
 * The demo's gateway settings (scripts/start.mjs writes them into .wrangler-demo.toml): the
 * product behind Gatehouse, its public paths, its step-up purpose and the route that needs it.
 */
export const DEMO_GATEWAY_VARS = {
  ASSERTION_AUDIENCE: "acme-notes",
  PUBLIC_PATHS: JSON.stringify(["/", "/app.css", "/favicon.ico"]),
  PRODUCT_STEP_UP_PURPOSES: JSON.stringify([
    // An admin acting as a member (support) may delete the member's note, with the admin's own factor.
    { name: "NOTE_DELETE", label: "delete a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: true },
  ]),
  STEP_UP_ROUTES: JSON.stringify([{ method: "DELETE", path: "/api/notes/*", purpose: "NOTE_DELETE" }]),
};

export const DEMO_TENANTS = [
  { id: "ten_acme", name: "Acme", slug: "acme" },
  { id: "ten_globex", name: "Globex", slug: "globex" },
];

export const DEMO_USERS = [
  { id: "usr_alice", tenantId: "ten_acme", email: "alice@acme.test", displayName: "Alice Owner", role: "owner", totp: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
  { id: "usr_dave", tenantId: "ten_acme", email: "dave@acme.test", displayName: "Dave Admin", role: "admin", totp: "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF" },
  { id: "usr_bob", tenantId: "ten_acme", email: "bob@acme.test", displayName: "Bob Member", role: "member", totp: null },
  { id: "usr_carol", tenantId: "ten_globex", email: "carol@globex.test", displayName: "Carol Owner", role: "owner", totp: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
];

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** Same format as src/lib/password.ts. */
export async function hashPassword(password) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100000 }, key, 256);
  return `pbkdf2_sha256$100000$${b64url(salt)}$${b64url(new Uint8Array(bits))}`;
}

/** src/stepup/secret-box.ts's older v1 format (<iv>.<ciphertext>, AAD = user id; opened as key k0, re-sealed as v2 on first use). */
export async function encryptTotpSecret(base32Secret, userId, keyB64url = LOCAL_TOTP_KEY) {
  const key = await crypto.subtle.importKey("raw", Buffer.from(keyB64url, "base64url"), "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(base32Secret);
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) }, key, data);
  return `v1.${b64url(iv)}.${b64url(new Uint8Array(ct))}`;
}

const q = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

/** Idempotent SQL: INSERT OR IGNORE keeps whatever a previous run (or the user) left. */
export async function demoSeedSql(nowMs = Date.now()) {
  return seedSql(DEMO_TENANTS, DEMO_USERS, nowMs);
}

/**
 * The same SQL for any tenants and users shaped like DEMO_TENANTS and DEMO_USERS (the
 * browser scenarios seed their own copies this way, e2e/lib/scenario-users.mjs), every
 * password DEMO_PASSWORD.
 */
export async function seedSql(tenants, users, nowMs = Date.now()) {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const lines = [];
  for (const t of tenants) {
    lines.push(`INSERT OR IGNORE INTO tenants (id, name, slug, created_at) VALUES (${q(t.id)}, ${q(t.name)}, ${q(t.slug)}, ${nowMs});`);
  }
  for (const u of users) {
    const secret = u.totp ? await encryptTotpSecret(u.totp, u.id) : null;
    lines.push(
      `INSERT OR IGNORE INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at, totp_secret_enc, totp_enabled) VALUES (${[
        u.id, u.tenantId, u.email, u.displayName, u.role, passwordHash, 1, nowMs, secret, u.totp ? 1 : 0,
      ].map(q).join(", ")});`,
    );
  }
  return lines.join("\n") + "\n";
}
