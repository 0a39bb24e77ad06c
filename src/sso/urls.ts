/**
 * The addresses single sign-on gives out: the redirect URI and the back-channel logout URI
 * an operator pastes at the identity provider, and the start URL a sign-in page (or an
 * SSO_REQUIRED answer) sends a browser to. Built from PUBLIC_ORIGIN and GATEHOUSE_PATH
 * (src/config.ts), never from the request's Host: the redirect URI is what the provider
 * sends the authorization code to.
 */
import { parseConfig } from "../config";
import type { Bindings } from "../env";

const ssoApi = (env: Bindings) => {
  const { publicOrigin, gatehousePath } = parseConfig(env);
  return `${publicOrigin}${gatehousePath}/api/auth/sso`;
};

/** `<PUBLIC_ORIGIN><GATEHOUSE_PATH>/api/auth/sso/callback`: where the provider sends the browser back with the code. */
export const redirectUri = (env: Bindings) => `${ssoApi(env)}/callback`;

/** Where the provider posts OIDC Back-Channel Logout tokens. */
export const backchannelLogoutUri = (env: Bindings) => `${ssoApi(env)}/backchannel-logout`;

/** Where a browser starts signing in as `email` through its organisation's provider. */
export const ssoStartUrl = (env: Bindings, email: string) => `${ssoApi(env)}/start?email=${encodeURIComponent(email)}`;
