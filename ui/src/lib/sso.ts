/**
 * The sign-in page's single sign-on: which emails' domains sign in through their
 * organization's identity provider (the API decides: docs/sso.md), and the way there.
 */
import { get } from "../api/client";

/** Where single sign-on starts for an email, when its domain has it (docs/sso.md); null when it does not. */
export type SsoRoute = { domain: string; startUrl: string };
const EMAIL_DOMAIN = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/;
export const domainOf = (email: string) => EMAIL_DOMAIN.exec(email.trim().toLowerCase())?.[1] ?? null;

export async function discoverSso(email: string): Promise<SsoRoute | null> {
  const domain = domainOf(email);
  if (domain === null) return null;
  const found = await get<{ sso: boolean; startUrl?: string }>(`/api/auth/sso/discover?email=${encodeURIComponent(email.trim())}`, { ownUnauthorized: true });
  return found.sso && found.startUrl ? { domain, startUrl: found.startUrl } : null;
}

/** Off to the identity provider, to come back to `back` (a product page, or the panel page asked for). */
export function startSso(startUrl: string, back: string) {
  const url = new URL(startUrl, location.origin);
  url.searchParams.set("returnTo", back);
  location.assign(url.toString());
}

/** Why single sign-on came back without a session (the callback's `?ssoError=`), in words. */
const SSO_ERRORS: Record<string, string> = {
  SSO_USER_NOT_PROVISIONED: "Your identity provider knows you, but your organization has not given you access here yet. Ask an administrator to invite you.",
  USER_DISABLED: "Your account has been disabled; ask an administrator of your organization.",
  TENANT_DISABLED: "Your organization's access has been disabled.",
  IP_BLOCKED: "Your organization does not allow sign-in from this network.",
  AUTH_UNAVAILABLE: "Your identity provider could not be reached. Try again in a moment.",
  SSO_PROVIDER_REFUSED: "Your identity provider did not sign you in (it was cancelled or refused there). Try again.",
  SSO_FLOW_INVALID: "That sign-in took too long or was opened in another browser. Start again here.",
  SSO_EMAIL_NOT_VERIFIED: "Your identity provider does not confirm that your email address is verified, so Gatehouse cannot sign you in with it.",
  SSO_DOMAIN_MISMATCH: "Your identity provider signed you in with an email address outside your organization's domains.",
};
export function ssoErrorNotice(search: string): string | null {
  const code = new URLSearchParams(search).get("ssoError");
  if (code === null) return null;
  return SSO_ERRORS[code] ?? "Single sign-on did not complete, so you are not signed in. Try again, or ask an administrator of your organization.";
}

