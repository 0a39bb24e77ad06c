/**
 * A sign-in sent to the provider and not yet back (sso_flows): made by the start route,
 * claimed once by the callback.
 *
 * Threat model: a forged or replayed callback (login CSRF: an attacker's own code and
 * state delivered to a victim's browser, or the victim's callback URL replayed elsewhere).
 * So a flow is single use (claimed by a compare-and-set on used_at), lives ten minutes,
 * and is bound to the browser that started it by a random value in a cookie
 * (`__Host-gatehouse_sso`: HttpOnly, Secure, SameSite=Lax, as the callback is a top-level
 * navigation from the provider's site) of which only the SHA-256 is stored, as are the
 * state's and the nonce's. The nonce is derived from the state and the binding value
 * (OpenID Connect Core §15.5.2), so an ID token minted for one browser's flow is refused
 * in any other. The PKCE verifier (S256) is sealed under the flow id like a client secret.
 * An unknown state has no tenant to audit in; every later refusal is the flow's tenant's.
 */
import { and, eq, gt, inArray, isNull, lt } from "drizzle-orm";
import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { calculatePKCECodeChallenge, generateRandomCodeVerifier, generateRandomState } from "oauth4webapi";
import { ssoFlows } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hostCookie } from "../lib/cookies";
import { randomBytes, randomId, sha256Hex, timingSafeEqualString, toBase64Url } from "../lib/crypto";
import { failClosed } from "../lib/fail-closed";
import { sealSecret } from "../stepup/secret-box";
import { type Connection, openSsoSecret, providerOf } from "./store";
import { redirectUri } from "./urls";

type SsoFlow = typeof ssoFlows.$inferSelect;

const SSO_BINDING_COOKIE = "gatehouse_sso"; // sent as __Host-gatehouse_sso
const SSO_FLOW_TTL_MS = 10 * 60_000;
/** What the provider is asked for: an ID token with the email (and name, for a member sign-in creates). */
const SCOPE = "openid email profile";
const BINDING = /^[A-Za-z0-9_-]{43}$/;
/** Expired flows deleted by each start, so the table stays bounded without a job of its own. */
const PRUNE_PER_START = 20;

/** Why a callback's flow is refused (its audit reason). */
type FlowRefusal = "UNKNOWN_STATE" | "OTHER_BROWSER" | "USED" | "EXPIRED";

const MESSAGES: Record<FlowRefusal, string> = {
  UNKNOWN_STATE: "This sign-in is not known; start again",
  OTHER_BROWSER: "This sign-in was started in another browser; start again here",
  USED: "This sign-in was already used; start again",
  EXPIRED: "This sign-in took more than 10 minutes; start again",
};

function flowRefused(reason: FlowRefusal, tenantId?: string): ApiError {
  return new ApiError(400, "SSO_FLOW_INVALID", MESSAGES[reason], { audit: { ...(tenantId ? { tenantId, actorUserId: null } : {}), failureReason: `SSO_${reason}` } });
}

/** The nonce of the flow with this state, in this browser. */
const nonceOf = async (state: string, binding: string) => toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`gatehouse-sso-nonce\n${state}\n${binding}`))));

/** This browser's binding value: the one its cookie holds (several tabs may sign in at once), or a new one. */
function bindingOf(c: Context<AppEnv>): string | null {
  const value = hostCookie(c, SSO_BINDING_COOKIE);
  return value !== undefined && BINDING.test(value) ? value : null;
}

/**
 * Starts a sign-in at the connection's provider: stores the flow (hashes only, the
 * verifier sealed), sets the binding cookie, and answers the authorization URL.
 */
export async function beginFlow(c: Context<AppEnv>, connection: Connection, options: { returnTo: string; loginHint: string | null }): Promise<string> {
  const binding = bindingOf(c) ?? toBase64Url(randomBytes(32));
  const state = generateRandomState();
  const nonce = await nonceOf(state, binding);
  const verifier = generateRandomCodeVerifier();
  const id = randomId("ssf_");
  const now = c.get("now");
  const db = c.var.db;
  const row: SsoFlow = {
    id,
    tenantId: connection.tenantId,
    connectionId: connection.id,
    stateHash: await sha256Hex(state),
    nonceHash: await sha256Hex(nonce),
    bindingHash: await sha256Hex(binding),
    codeVerifierEnc: await sealSecret(c.env, verifier, id),
    returnTo: options.returnTo,
    createdAt: now,
    expiresAt: now + SSO_FLOW_TTL_MS,
    usedAt: null,
  };
  const expired = db.select({ id: ssoFlows.id }).from(ssoFlows).where(lt(ssoFlows.expiresAt, now)).limit(PRUNE_PER_START);
  await failClosed("single sign-on flow store", () => db.batch([db.delete(ssoFlows).where(inArray(ssoFlows.id, expired)), db.insert(ssoFlows).values(row)]));
  setCookie(c, SSO_BINDING_COOKIE, binding, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", prefix: "host", maxAge: SSO_FLOW_TTL_MS / 1000 });

  const url = new URL(providerOf(connection).authorization_endpoint as string);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", connection.clientId);
  url.searchParams.set("redirect_uri", redirectUri(c.env));
  url.searchParams.set("scope", SCOPE);
  url.searchParams.set("state", state);
  url.searchParams.set("nonce", nonce);
  url.searchParams.set("code_challenge", await calculatePKCECodeChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  if (options.loginHint) url.searchParams.set("login_hint", options.loginHint);
  return url.toString();
}

/** A claimed flow: its row, and what the callback checks the provider's answer against. */
export type ClaimedFlow = { flow: SsoFlow; state: string; nonce: string; codeVerifier: string };

/**
 * Claims the flow `state` names for this browser, once: unknown, another browser's, used
 * or expired is 400 SSO_FLOW_INVALID (audited in the flow's tenant, when there is one).
 */
export async function claimFlow(c: Context<AppEnv>, state: string): Promise<ClaimedFlow> {
  const db = c.var.db;
  const now = c.get("now");
  const flow = await failClosed("single sign-on flow store", async () => (await db.query.ssoFlows.findFirst({ where: eq(ssoFlows.stateHash, await sha256Hex(state)) })) ?? null);
  if (!flow) throw flowRefused("UNKNOWN_STATE");
  const binding = bindingOf(c);
  // Not spent by another browser: its own may still come back with it.
  if (binding === null || !timingSafeEqualString(await sha256Hex(binding), flow.bindingHash)) throw flowRefused("OTHER_BROWSER", flow.tenantId);
  if (flow.usedAt !== null) throw flowRefused("USED", flow.tenantId);
  if (flow.expiresAt <= now) throw flowRefused("EXPIRED", flow.tenantId);
  const claimed = await failClosed("single sign-on flow store", () =>
    db
      .update(ssoFlows)
      .set({ usedAt: now })
      .where(and(eq(ssoFlows.id, flow.id), isNull(ssoFlows.usedAt), gt(ssoFlows.expiresAt, now))),
  );
  if (claimed.meta.changes !== 1) throw flowRefused("USED", flow.tenantId);
  const nonce = await nonceOf(state, binding);
  return { flow, state, nonce, codeVerifier: await openSsoSecret(c.env, flow.codeVerifierEnc, flow.id) };
}
