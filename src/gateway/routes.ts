/**
 * Gateway mode: Gatehouse in front of a product. Every request outside the Gatehouse
 * path passes the same edge check as the API and then goes to the product's origin
 * with a signed identity assertion (the modules beside this file do each part).
 *
 * Threat model: a client that forges who it is (an incoming assertion header is
 * dropped; only Gatehouse signs), an origin that leaks or logs the session secret (the
 * session cookie never reaches it), an origin or its dependencies that fixate or clear
 * Gatehouse's cookies (their Set-Cookie is dropped), another site that makes a signed-in
 * browser post to the product (CSRF, as for the API), open redirects through `returnTo`
 * (same-origin paths only), and outages: without KV, D1, the signing keys or a valid
 * configuration nothing is forwarded as if signed in (503); an unreachable origin is 502.
 *
 * Public paths are forwarded without a session; when a valid one is present the
 * assertion is still attached, so a landing page can say who is signed in.
 * Everything else needs a session: a browser loading a page is sent to sign-in and
 * back, any other request gets the API's 401. Bodies stream both ways (no body limit:
 * the product sets its own). Every answer Gatehouse makes here itself carries the API's
 * headers (no-store, nosniff, ...); the origin's answers keep their own.
 */
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { recordRefusals } from "../audit/refusal-recorder";
import { edgeCheck } from "../edge-check";
import type { AppEnv } from "../env";
import { ApiError, RefusalWithResponse, toApiError } from "../errors";
import { csrfGuard } from "../lib/csrf";
import { ownAnswerHeaders } from "../lib/own-answer-headers";
import { SubjectEndedError, signAssertion } from "./assertion";
import { AssertionKeysError, loadAssertionKeys } from "./assertion-keys";
import { ConfigError, parseConfig } from "../config";
import { SESSION_FAILURES } from "../sessions/middleware";
import type { GatewayConfig } from "./config";
import { GATEHOUSE_COOKIES, SESSION_COOKIE, clientResponse, originRequest } from "./forward";
import { enrolmentRedirect, isBrowserNavigation, unauthenticatedResponse } from "./navigation";
import { enrolmentRequired, enrolmentRequiredError } from "../tenant/enrolment-gate";
import { productRouteStepUp } from "./step-up";
import { assertionSubjectOf } from "./subject";
import { errorSummary, log } from "../lib/log";

export type GatewayOptions = {
  /** Where Gatehouse's own surface lives (sign-in is under it). */
  basePath: string;
};

const isSessionFailure = (code: string) => (SESSION_FAILURES as readonly string[]).includes(code);

/**
 * The gateway's settings, or null when no origin is configured (a standalone Gatehouse):
 * src/config.ts parses them (at startup, then one lookup per env object). A configuration
 * that did not parse is 503: nothing is forwarded.
 */
export function configuredGateway(env: AppEnv["Bindings"]): GatewayConfig | null {
  try {
    return parseConfig(env).gateway;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error("gateway misconfigured", { problem: err.message });
    throw new ApiError(503, "GATEWAY_MISCONFIGURED", "The gateway is not configured correctly; the operator has been told");
  }
}

/**
 * Runs the edge check for a product request. On a public path a failed check only means
 * "anonymous"; elsewhere it refuses, and a browser navigation is sent to sign-in.
 */
function productIdentity(options: GatewayOptions) {
  const check = edgeCheck();
  return createMiddleware<AppEnv>(async function productIdentity(c, next) {
    const config = configuredGateway(c.env);
    if (!config) return next();
    const passed = async () => {
      c.set("edgePassed", true);
      await next();
    };
    // A member who must still enrol a second factor is nobody to the product: anonymous on
    // a public path, refused elsewhere (a page load is sent to enrolment).
    let anonymous = false;
    const enrolled = async () => {
      if (!(await enrolmentRequired(c))) return passed();
      if (isPublic) {
        anonymous = true;
        return next();
      }
      const redirect = enrolmentRedirect(c.req.raw, { gatehousePath: options.basePath });
      throw redirect ? new RefusalWithResponse(enrolmentRequiredError(), redirect) : enrolmentRequiredError();
    };
    const isPublic = config.publicPaths.isPublic(new URL(c.req.url).pathname);
    if (isPublic) {
      try {
        await check(c, enrolled);
      } catch (err) {
        // Only the edge check's own refusal means "anonymous"; whatever went wrong after it did not.
        if (c.get("edgePassed") || anonymous) throw err;
        await next();
      }
      return;
    }
    try {
      await check(c, enrolled);
    } catch (err) {
      const refusal = toApiError(err);
      // A page load goes to sign-in (and back); fetch/XHR keep the API's 401 with its code.
      if (!c.get("edgePassed") && refusal && isSessionFailure(refusal.code) && isBrowserNavigation(c.req.raw)) {
        throw new RefusalWithResponse(refusal, unauthenticatedResponse(c.req.raw, { gatehousePath: options.basePath }));
      }
      throw err;
    }
  });
}

async function signedAssertion(c: Context<AppEnv>, config: GatewayConfig): Promise<string | null> {
  if (!c.get("edgePassed")) return null;
  try {
    const keys = await loadAssertionKeys(c.env.ASSERTION_SIGNING_KEYS);
    const subject = assertionSubjectOf({ session: c.get("session"), user: c.get("user"), realUser: c.get("realUser"), actor: c.get("actor") });
    return await signAssertion(subject, { keys, issuer: config.issuer, audience: config.audience, nowMs: c.get("now") });
  } catch (err) {
    // Admitted in the last second of the session or the impersonation: it has ended by now.
    if (err instanceof SubjectEndedError) {
      if (c.get("actor").isImpersonating) throw new ApiError(409, "IMPERSONATION_ENDED", "The impersonation has just ended; repeat the request");
      throw new ApiError(401, "SESSION_REVOKED", "Your session has expired; sign in again");
    }
    if (!(err instanceof AssertionKeysError)) throw err;
    log.error("assertion keys unavailable", { problems: err.problems });
    throw new ApiError(503, "ASSERTION_KEYS_UNAVAILABLE", "Identity cannot be asserted right now; try again");
  }
}

async function toOrigin(c: Context<AppEnv>, options: GatewayOptions): Promise<Response> {
  const config = configuredGateway(c.env);
  if (!config) {
    // Standalone: the host's root leads to the panel; nothing else is here.
    if (new URL(c.req.url).pathname === "/" && (c.req.method === "GET" || c.req.method === "HEAD")) return c.redirect(`${options.basePath}/`, 302);
    throw new ApiError(404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
  }
  const assertion = await signedAssertion(c, config);
  const request = originRequest(c.req.raw, { assertion, sessionCookieName: SESSION_COOKIE, ...(config.originUrl ? { originUrl: config.originUrl } : {}) });
  let response: Response;
  try {
    response = c.env.ORIGIN ? await c.env.ORIGIN.fetch(request) : await fetch(request);
  } catch (err) {
    log.error("origin unreachable", { error: errorSummary(err) });
    throw new ApiError(502, "ORIGIN_UNAVAILABLE", "The application behind Gatehouse cannot be reached; try again");
  }
  c.set("answeredByOrigin", true);
  return clientResponse(response, { protectedCookieNames: GATEHOUSE_COOKIES });
}

/** Every path outside the Gatehouse path. Mounted last, after Gatehouse's own routes. */
export function gatewayRoutes(options: GatewayOptions) {
  return new Hono<AppEnv>()
    // Gatehouse's own answers (refusals, redirects, errors) carry the API's headers; the origin's pass through as they are.
    .use(ownAnswerHeaders())
    .use(recordRefusals())
    .use(csrfGuard({ onlyWithSessionCookie: true }))
    .use(productIdentity(options))
    .use(productRouteStepUp(options))
    .all("*", (c) => toOrigin(c, options));
}
