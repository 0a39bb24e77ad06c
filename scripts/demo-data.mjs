// Demo data for local runs only (docs/local.md: "Demo data"). Never used by a deploy.
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
// Product webhooks' signing secret (Standard Webhooks' whsec_<base64>), shared by Gatehouse
// (.dev.vars) and the demo product (examples/acme-notes/wrangler.toml) on this machine only.
export const LOCAL_WEBHOOK_SECRET = "whsec_bG9jYWwtb25seS1nYXRlaG91c2Utd2ViaG9vay1rZXk=";
/** Where the demo product receives Gatehouse's webhooks: a public path of the product behind Gatehouse. */
export const DEMO_WEBHOOK_PATH = "/webhooks/gatehouse";

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
  // The webhook receiver is public: Gatehouse's signature, not a session, authenticates it.
  PUBLIC_PATHS: JSON.stringify(["/", "/app.css", "/logo.svg", "/favicon.ico", "/webhooks/gatehouse"]),
  // The product's own name and mark on Gatehouse's pages (src/panel/branding.ts).
  PRODUCT_NAME: "Acme Notes",
  PRODUCT_LOGO_URL: "/logo.svg",
  PRODUCT_ACCENT_COLOR: "#6d28d9",
  PRODUCT_STEP_UP_PURPOSES: JSON.stringify([
    // An admin acting as a member (support) may delete the member's note, with the admin's own factor.
    { name: "NOTE_DELETE", label: "delete a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false, allowWhileImpersonating: true },
  ]),
  STEP_UP_ROUTES: JSON.stringify([{ method: "DELETE", path: "/api/notes/*", purpose: "NOTE_DELETE" }]),
};

export const DEMO_TENANTS = [
  { id: "ten_acme", name: "Acme", slug: "acme" },
  { id: "ten_globex", name: "Globex", slug: "globex" },
  // Signs in through the local IdP (DEMO_SSO below).
  { id: "ten_initech", name: "Initech", slug: "initech" },
];

export const DEMO_USERS = [
  { id: "usr_alice", tenantId: "ten_acme", email: "alice@acme.test", displayName: "Alice Owner", role: "owner", totp: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
  { id: "usr_dave", tenantId: "ten_acme", email: "dave@acme.test", displayName: "Dave Admin", role: "admin", totp: "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF" },
  { id: "usr_bob", tenantId: "ten_acme", email: "bob@acme.test", displayName: "Bob Member", role: "member", totp: null },
  { id: "usr_carol", tenantId: "ten_globex", email: "carol@globex.test", displayName: "Carol Owner", role: "owner", totp: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
  { id: "usr_peter", tenantId: "ten_initech", email: "peter@initech.test", displayName: "Peter Owner", role: "owner", totp: "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U" },
  { id: "usr_samir", tenantId: "ten_initech", email: "samir@initech.test", displayName: "Samir Member", role: "member", totp: null },
];

/** The local IdP's port under `npm start` (scripts/idp.mjs; IDP_PORT changes it). */
export const DEMO_IDP_PORT = 9400;
/** Every account's password at the local IdP (not Gatehouse's: the IdP checks it). */
export const DEMO_IDP_PASSWORD = "local-idp-demo-pass";

/**
 * Initech's single sign-on: its connection to the local IdP (the client registered there by
 * scripts/idp.mjs, whose secret is sealed into the row) and the IdP's accounts: Samir, who
 * is an Initech member already (linked by email at first sign-in), and Michael, whom the
 * first sign-in creates (JIT). Peter, the owner, keeps signing in with his password.
 */
export const DEMO_SSO = {
  connectionId: "sso_initech",
  tenantId: "ten_initech",
  clientId: "gatehouse-demo",
  clientSecret: "local-only-gatehouse-demo-client-secret-0000",
  domains: ["initech.test"],
  jitProvisioning: true,
  defaultRole: "member",
  requireSso: false,
  accounts: [
    { email: "samir@initech.test", password: DEMO_IDP_PASSWORD, givenName: "Samir", familyName: "Member" },
    { email: "michael@initech.test", password: DEMO_IDP_PASSWORD, givenName: "Michael", familyName: "Newcomer" },
  ],
};

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** The discovery document of the IdP at `issuer` (what a connection keeps as provider_metadata). */
export async function fetchDiscovery(issuer) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${issuer}'s discovery document answered ${res.status}`);
  return res.json();
}

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

/**
 * The SQL of a tenant's connection shaped like DEMO_SSO to the IdP whose discovery document
 * is `metadata`, its client secret sealed as src/stepup/secret-box.ts opens it (the
 * connection id as associated data). Re-run, it only follows the IdP (issuer and metadata:
 * IDP_PORT may have changed), and only while the tenant's connection is still this client;
 * everything else stays as the panel left it.
 */
export async function ssoConnectionSql(sso, metadata, nowMs = Date.now()) {
  const secret = await encryptTotpSecret(sso.clientSecret, sso.connectionId);
  const row = [sso.connectionId, sso.tenantId, "oidc", metadata.issuer, sso.clientId, secret, JSON.stringify(metadata), sso.jitProvisioning ? 1 : 0, sso.defaultRole, sso.requireSso ? 1 : 0, nowMs, nowMs];
  const lines = [
    `INSERT INTO sso_connections (id, tenant_id, protocol, issuer, client_id, client_secret_enc, provider_metadata, jit_provisioning, default_role, require_sso, created_at, updated_at) VALUES (${row.map(q).join(", ")})
  ON CONFLICT (tenant_id) DO UPDATE SET issuer = excluded.issuer, provider_metadata = excluded.provider_metadata, updated_at = excluded.updated_at WHERE sso_connections.client_id = excluded.client_id;`,
  ];
  for (const domain of sso.domains) {
    lines.push(`INSERT OR IGNORE INTO sso_domains (domain, tenant_id, connection_id) VALUES (${[domain, sso.tenantId, sso.connectionId].map(q).join(", ")});`);
  }
  return lines.join("\n") + "\n";
}
