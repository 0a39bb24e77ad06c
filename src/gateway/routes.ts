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
 * Everything else needs a session: a browser loading a page or submitting a plain form
 * is sent to sign-in and back (src/gateway/navigation.ts), any other request gets the API's 401. Bodies stream both ways (no body limit:
 * the product sets its own). Every answer Gatehouse makes here itself carries the API's
 * headers (no-store, nosniff, ...); the origin's answers keep their own.
 */
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { recordRefusals } from "../audit/refusal-recorder";
import { type EdgeCheckOutcome, runEdgeCheck } from "../edge-check";
import type { AppEnv } from "../env";
import { ApiError, RefusalWithResponse, toApiError } from "../errors";
import { csrfGuard } from "../lib/csrf";
import { ownAnswerHeaders } from "../lib/own-answer-headers";
import { SubjectEndedError, signAssertion } from "./assertion";
import { AssertionKeysError, loadAssertionKeys } from "./assertion-keys";
import { ConfigError, parseConfig } from "../config";
import { afterAcceptedRequest } from "../sessions/activity";
import { SESSION_FAILURES, type SessionAdmission } from "../sessions/middleware";
import type { GatewayConfig } from "./config";
import { GATEHOUSE_COOKIES, SESSION_COOKIE, clientResponse, originRequest } from "./forward";
import { enrolmentRedirect, signInRedirect } from "./navigation";
import { enrolmentRequired, enrolmentRequiredError } from "../tenant/enrolment-gate";
import { productRouteStepUp } from "./step-up";
import { assertionSubjectOf } from "./subject";
import { errorSummary, log } from "../lib/log";
import { clientIp } from "../lib/request-meta";

export type GatewayOptions = {
  /** Where Gatehouse's own surface lives (sign-in is under it). */
  basePath: string;
};

const isSessionFailure = (code: string) => (SESSION_FAILURES as readonly string[]).includes(code);

const isPublicPath = (c: Context<AppEnv>, config: GatewayConfig) => config.publicPaths.isPublic(new URL(c.req.url).pathname);

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
 * Who a product request is to the product, as a value: admitted (the edge check admitted
 * it; the assertion will name who), anonymous (a public path the check did not admit:
 * forwarded without an assertion), or refused (any other path; the step's error).
 */
type ProductIdentity = { kind: "admitted"; admission: SessionAdmission } | { kind: "anonymous" } | { kind: "refused"; error: unknown };

/** On a public path a request the edge check did not admit is only anonymous, whatever stopped it. */
function productIdentityOf(outcome: EdgeCheckOutcome, isPublic: boolean): ProductIdentity {
  return outcome.kind === "refused" && isPublic ? { kind: "anonymous" } : outcome;
}

/** A refusal as its client can use it: a page load or a form goes to sign-in (and back); fetch/XHR keep the API's 401 with its code. */
function forClient(c: Context<AppEnv>, error: unknown, options: GatewayOptions): unknown {
  const refusal = toApiError(error);
  const redirect = refusal && isSessionFailure(refusal.code) ? signInRedirect(c.req.raw, { gatehousePath: options.basePath }) : null;
  return refusal && redirect ? new RefusalWithResponse(refusal, redirect) : error;
}

/**
 * The edge check for a product request, and what its outcome means here (ProductIdentity,
 * recorded on the context for the steps after it). An admitted request counts as the
 * session's activity once answered and not refused further on, as on the API; so does one
 * the enrolment gate then serves anonymously on a public path.
 */
function productIdentity(options: GatewayOptions) {
  const check = runEdgeCheck();
  return createMiddleware<AppEnv>(async function productIdentity(c, next) {
    const config = configuredGateway(c.env);
    if (!config) return next();
    const identity = productIdentityOf(await check(c), isPublicPath(c, config));
    if (identity.kind === "refused") throw forClient(c, identity.error, options);
    c.set("productIdentity", identity.kind);
    await next();
    if (identity.kind === "admitted") await afterAcceptedRequest(c, identity.admission);
  });
}

/**
 * The two-factor enrolment gate for product requests, mounted right after the edge check
 * as on the API (the rule's owner: src/tenant/enrolment-gate.ts). A member who must still
 * enrol is nobody to the product: anonymous on a public path (also while that cannot be
 * told: fail closed, as when the edge check cannot run), refused elsewhere (a page load is
 * sent to enrolment).
 */
function productEnrolmentGate(options: GatewayOptions) {
  return createMiddleware<AppEnv>(async function productEnrolmentGate(c, next) {
    const config = configuredGateway(c.env);
    if (!config || c.get("productIdentity") !== "admitted") return next();
    if (isPublicPath(c, config)) {
      if (await enrolmentRequired(c).catch(() => true)) c.set("productIdentity", "anonymous");
      return next();
    }
    if (await enrolmentRequired(c)) {
      const redirect = enrolmentRedirect(c.req.raw, { gatehousePath: options.basePath });
      throw redirect ? new RefusalWithResponse(enrolmentRequiredError(), redirect) : enrolmentRequiredError();
    }
    await next();
  });
}

async function signedAssertion(c: Context<AppEnv>, config: GatewayConfig): Promise<string | null> {
  if (c.get("productIdentity") !== "admitted") return null;
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
  const forwarded = { clientIp: clientIp(c), publicOrigin: parseConfig(c.env).publicOrigin };
  const request = originRequest(c.req.raw, { assertion, sessionCookieName: SESSION_COOKIE, forwarded, ...(config.originUrl ? { originUrl: config.originUrl } : {}) });
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
    .use(productEnrolmentGate(options))
    .use(productRouteStepUp(options))
    .all("*", (c) => toOrigin(c, options));
}
