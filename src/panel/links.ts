/**
 * The one builder of links that leave Gatehouse: an invitation or a password reset link in
 * an email, in an API answer, or in the operator command's output.
 *
 * Threat model: such a link carries a bearer token to whoever opens it, and its host
 * receives that token. The host comes from PUBLIC_ORIGIN (validated at startup,
 * src/config.ts), never from the request's Host or URL: a request sent with
 * `Host: attacker.example` (a wildcard route, a proxy passing Host through) would otherwise
 * mail the victim a correctly signed link that hands their token to the attacker.
 */
import { parseConfig } from "../config";
import type { Bindings } from "../env";

/** A page of the panel that a link opens with `?token=`. */
export type TokenPage = "/accept-invitation" | "/reset-password";

/** `<PUBLIC_ORIGIN><GATEHOUSE_PATH><page>?token=<token>`. */
export function panelLink(env: Bindings, page: TokenPage, token: string): string {
  const { publicOrigin, gatehousePath } = parseConfig(env);
  return `${publicOrigin}${gatehousePath}${page}?token=${encodeURIComponent(token)}`;
}
