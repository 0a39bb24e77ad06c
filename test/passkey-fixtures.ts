/** Passkeys in workerd tests: a software authenticator (test/webauthn) driving the API. */
import { env } from "cloudflare:workers";
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { type CallOptions, type Harness, ORIGIN, type SeededUser } from "./helpers";
import { type AuthenticateKnobs, SoftAuthenticator } from "./webauthn/soft-authenticator";
import { auditStore } from "./audit-store";

export type PasskeyView = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };

/** An authenticator on this deployment's origin (PUBLIC_ORIGIN in the test env). */
export const newAuthenticator = (options: { counterMode?: "increment" | "zero" } = {}) => new SoftAuthenticator({ origin: ORIGIN, ...options });

/** The purpose a user steps up with before adding a passkey: MFA_CHANGE once they have a second factor. */
const enrolPurpose = (user: SeededUser, hasFactor: boolean) => (user.totpSecret || hasFactor ? "MFA_CHANGE" : "MFA_ENROLL");

/** Registration options for `user`'s session (stepped up first unless `stepUp: false`). */
export async function registrationOptions(h: Harness, user: SeededUser, cookie: string, options: { stepUp?: boolean; hasPasskey?: boolean } = {}) {
  if (options.stepUp !== false) await h.stepUp(cookie, enrolPurpose(user, options.hasPasskey ?? false), user);
  const res = await h.call<{ options: PublicKeyCredentialCreationOptionsJSON }>("/api/security/mfa/passkeys/options", { cookie, body: {} });
  if (res.status !== 200) throw new Error(`passkey options failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.options;
}

/** Sends a registration answer; the raw result (tests of refusals read it). */
export function finishRegistration(h: Harness, cookie: string, response: RegistrationResponseJSON, name?: string, options: CallOptions = {}) {
  return h.call<{ passkey: PasskeyView; recoveryCodes?: string[] }>("/api/security/mfa/passkeys", { ...options, cookie, body: { response, ...(name ? { name } : {}) } });
}

/** Adds a passkey held by `auth` to `user`'s account; returns its view and the credential id. */
export async function addPasskey(h: Harness, user: SeededUser, cookie: string, auth: SoftAuthenticator, options: { hasPasskey?: boolean; synced?: boolean; name?: string } = {}) {
  const creation = await registrationOptions(h, user, cookie, options);
  const response = await auth.register(creation, options.synced ? { synced: true } : {});
  const res = await finishRegistration(h, cookie, response, options.name);
  if (res.status !== 201) throw new Error(`passkey registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, credentialId: response.id };
}

/** Sign-in options: a challenge id and discoverable options. */
export async function signInOptions(h: Harness) {
  const res = await h.call<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>("/api/auth/passkey/options", { body: {} });
  if (res.status !== 200) throw new Error(`sign-in options failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export function finishSignIn(h: Harness, challengeId: string, response: AuthenticationResponseJSON, options: CallOptions = {}) {
  return h.call<{ sessionId: string; user: { id: string } }>("/api/auth/passkey", { ...options, body: { challengeId, response } });
}

/** Step-up options for `purpose` in this session. */
export async function stepUpOptions(h: Harness, cookie: string, purpose: string) {
  const res = await h.call<{ options: PublicKeyCredentialRequestOptionsJSON }>("/api/security/stepup/options", { cookie, body: { purpose } });
  if (res.status !== 200) throw new Error(`step-up options failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.options;
}

export function verifyStepUp(h: Harness, cookie: string, purpose: string, passkey: AuthenticationResponseJSON) {
  return h.call<{ success: boolean }>("/api/security/stepup/verify", { cookie, body: { purpose, passkey } });
}

/** Earns a grant for `purpose` with the passkey `auth` holds. */
export async function passkeyStepUp(h: Harness, cookie: string, purpose: string, auth: SoftAuthenticator) {
  const res = await verifyStepUp(h, cookie, purpose, await auth.authenticate(await stepUpOptions(h, cookie, purpose)));
  if (res.status !== 200) throw new Error(`passkey step-up failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The error code an answer carries (its body typed for success). */
export const errorOf = (res: { body: unknown }) => (res.body as { error?: string }).error;

export type PasskeyAuditRow = { outcome: string; failure_reason: string | null; actor_user_id: string | null; target_id: string | null; metadata: string | null; before: string | null; after: string | null };

/** The tenant's audit rows for `action`, in chain order. */
export async function auditRowsOf(tenantId: string, action: string) {
  const rows = await auditStore.prepare("SELECT outcome, failure_reason, actor_user_id, target_id, metadata, before, after FROM audit_logs WHERE tenant_id = ? AND action = ? ORDER BY seq")
    .bind(tenantId, action)
    .all<PasskeyAuditRow>();
  return rows.results;
}

/** The user's stored passkeys (every column) and the passkey_count their row says. */
export async function storedPasskeys(userId: string) {
  const rows = await env.DB.prepare("SELECT id, credential_id, public_key, sign_count, name FROM passkeys WHERE user_id = ? ORDER BY created_at, id").bind(userId).all<{ id: string; credential_id: string; public_key: string; sign_count: number; name: string }>();
  const user = await env.DB.prepare("SELECT passkey_count FROM users WHERE id = ?").bind(userId).first<{ passkey_count: number }>();
  return { rows: rows.results, count: user?.passkey_count ?? null };
}

/** Signs `user` in with the password, adds a passkey (stepping up with the password or TOTP first), and returns the session and the authenticator. */
export async function signedInWithPasskey(h: Harness, user: SeededUser, options: { synced?: boolean; counterMode?: "increment" | "zero" } = {}) {
  const session = await h.session(user);
  const auth = newAuthenticator(options.counterMode ? { counterMode: options.counterMode } : {});
  const added = await addPasskey(h, user, session.cookie, auth, options.synced ? { synced: true } : {});
  return { ...session, auth, ...added };
}

/** A passkey sign-in with `auth` (knobs for the answer), the raw result. */
export async function passkeySignIn(h: Harness, auth: SoftAuthenticator, knobs: AuthenticateKnobs = {}, options: CallOptions = {}) {
  const { challengeId, options: request } = await signInOptions(h);
  return finishSignIn(h, challengeId, await auth.authenticate(request, knobs), options);
}

/** The owner sets the tenant's phishing-resistance policy through the API (stepping up with TOTP). */
export async function setPhishingResistance(h: Harness, owner: SeededUser, scope: "off" | "admins" | "everyone") {
  const { cookie } = await h.session(owner);
  await h.stepUp(cookie, "TENANT_POLICY_CHANGE", owner);
  const res = await h.call("/api/tenant/policy", { cookie, method: "PATCH", body: { requirePhishingResistant: scope } });
  if (res.status !== 200) throw new Error(`policy change failed: ${res.status} ${JSON.stringify(res.body)}`);
}
