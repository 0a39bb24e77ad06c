/**
 * Step-up for product routes (STEP_UP_ROUTES): a request matching a route needs a fresh
 * grant for the route's product purpose before it reaches the origin. The grant is the
 * API's (earned through POST <GATEHOUSE_PATH>/api/security/stepup/verify, bound to this
 * session, its real user and the purpose) and is checked and claimed by the one owner of
 * that rule, claimStepUpGrant: a single-use grant serves exactly one forwarded request,
 * however many arrive in parallel.
 *
 * Without a grant: 428 STEP_UP_REQUIRED in the API's shape (purpose, methods, label) for
 * fetch/XHR, which the client module (`<GATEHOUSE_PATH>/client.js`) turns into the step-up
 * dialog and a retry; a browser loading a page or submitting a plain HTML form is sent to
 * the panel's step-up page and back (src/gateway/navigation.ts: a form comes back to the
 * page it was on, told its action was not done).
 * The session is re-read from D1 first, as on the API's guarded routes. The route is
 * looked up for every method the origin may run the request as (method override,
 * src/gateway/method-override.ts). A claimed grant is given back only when the action
 * surely did not happen: the origin refused it (4xx) or the request never reached the
 * origin. A 5xx from the origin keeps it spent: the action may have happened.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError, RefusalWithResponse } from "../errors";
import type { StepUpClaim } from "../stepup/middleware";
import { claimStepUpGrant, reloadLiveSession } from "../stepup/middleware";
import { stepUpRedirect, unauthenticatedResponse } from "./navigation";
import { parseConfig } from "../config";
import { methodsOriginMayRun } from "./method-override";
import type { RouteStepUp, StepUpRouteMatcher } from "./step-up-routes";

/** The step-up a request needs across the methods it may run as: a path that cannot be matched wins, then the first purpose. */
function stepUpForRequest(routes: StepUpRouteMatcher, request: Request): RouteStepUp {
  const pathname = new URL(request.url).pathname;
  const needs = methodsOriginMayRun(request).map((method) => routes.stepUpFor(method, pathname));
  return needs.find((n) => n.kind === "unmatchable") ?? needs.find((n) => n.kind === "purpose") ?? { kind: "none" };
}

/** Whether the origin surely did not act: it refused (4xx), or the request never reached it (an error before or at the fetch). */
function actionDidNotHappen(error: unknown, status: number): boolean {
  return error !== undefined || (status >= 400 && status < 500);
}

export function productRouteStepUp(options: { basePath: string }) {
  return createMiddleware<AppEnv>(async function productRouteStepUp(c, next) {
    // Parsed (and its errors answered) by the edge check's step before this one.
    const config = parseConfig(c.env).gateway;
    if (!config) return next();
    const need = stepUpForRequest(config.stepUpRoutes, c.req.raw);
    if (need.kind === "none") return next();
    if (need.kind === "unmatchable") {
      throw new ApiError(400, "MALFORMED_PATH", "The path has empty, dot or encoded-separator segments; send it normalised");
    }
    // A step-up route under a public path still needs a signed-in session.
    if (c.get("productIdentity") !== "admitted") {
      const refusal = new ApiError(401, "UNAUTHORIZED", "Sign in to continue");
      throw new RefusalWithResponse(refusal, unauthenticatedResponse(c.req.raw, { gatehousePath: options.basePath }));
    }
    const fresh = await reloadLiveSession(c, c.get("session").id);
    let claim: StepUpClaim;
    try {
      claim = await claimStepUpGrant(c, fresh, need.purpose);
    } catch (err) {
      const redirect = err instanceof ApiError && err.code === "STEP_UP_REQUIRED" ? stepUpRedirect(c.req.raw, { gatehousePath: options.basePath, purpose: need.purpose }) : null;
      throw redirect && err instanceof ApiError ? new RefusalWithResponse(err, redirect) : err;
    }
    await next();
    if (actionDidNotHappen(c.error, c.res.status)) await claim.giveBack();
  });
}
