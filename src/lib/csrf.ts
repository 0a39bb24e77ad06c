import { hostCookie } from "./cookies";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { noted } from "../openapi/notes";
import { SESSION_COOKIE } from "../sessions/token";

export type CsrfOptions = {
  /**
   * Check only requests that carry Gatehouse's session cookie: the product's public
   * paths take cross-site posts without one (webhooks), and without the cookie there is
   * no ambient authority to forge.
   */
  onlyWithSessionCookie?: boolean;
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses state-changing requests that a browser says came from another site
 * (OWASP CSRF Prevention Cheat Sheet: Fetch Metadata, then Origin). Requests with
 * neither header are not from a browser, so carry no ambient cookie risk.
 * SameSite=Lax on the session cookie is the second layer.
 */
export const csrfGuard = (options: CsrfOptions = {}) =>
  noted(createCsrfGuard(options), { errors: ["CSRF"] });

const createCsrfGuard = (options: CsrfOptions) =>
  createMiddleware<AppEnv>(async function csrfGuard(c, next) {
    const exempt = options.onlyWithSessionCookie === true && hostCookie(c, SESSION_COOKIE) === undefined;
    // A WebSocket handshake is a GET, but what follows acts for the user: a browser always
    // sends Origin with it, and only our own origin may open one with the session cookie.
    if (!exempt && c.req.header("upgrade")?.toLowerCase() === "websocket" && c.req.header("origin") !== new URL(c.req.url).origin) {
      throw new ApiError(403, "CSRF", "Cross-origin WebSocket refused");
    }
    if (!SAFE_METHODS.has(c.req.method) && !exempt) {
      const site = c.req.header("sec-fetch-site");
      const origin = c.req.header("origin");
      const selfOrigin = new URL(c.req.url).origin;
      if (site !== undefined && site !== "same-origin" && site !== "none") {
        throw new ApiError(403, "CSRF", "Cross-site request refused");
      }
      // A page with `Referrer-Policy: no-referrer` sends `Origin: null` on its own same-origin
      // form posts; the browser's Sec-Fetch-Site, which no page can set, vouches for them.
      const vouched = origin === "null" && site === "same-origin";
      if (origin !== undefined && origin !== selfOrigin && !vouched) {
        throw new ApiError(403, "CSRF", "Cross-origin request refused");
      }
    }
    await next();
  });
