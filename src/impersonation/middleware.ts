import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { noted } from "../openapi/notes";
import { impersonationExpired } from "./expiry";
import { endImpersonation } from "./service";

/**
 * The edge check's second step (src/edge-check.ts), after the session check: whom the
 * request acts as. The session check set the session's own user; while its session
 * impersonates, the request acts as the impersonated user and every audit row names
 * the real admin (`actor`). An expired impersonation (or one whose target is gone) is
 * ended here, so the next request after the limit is back to the admin's own identity
 * (an end that committed stands even if the edge cannot be told at once: the request goes
 * on as the admin; only an end that did not commit is 503).
 */
export type ImpersonationOptions = {
  /**
   * When an impersonation ends on this request, refuse it if it changes state (409
   * IMPERSONATION_ENDED): a form sent from the member's view must not then run as the
   * admin's own action. Default on; off for sign-out and for calls whose method is not the
   * user's (RPC).
   */
  refuseWritesOnEnd?: boolean;
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The refusal of a change meant to be made on someone's behalf once the impersonation has
 * ended: nothing is done rather than done as the admin's own action (here, and for the
 * product's audit events, src/rpc/app.ts).
 */
export const impersonationEnded = () => new ApiError(409, "IMPERSONATION_ENDED", "The impersonation has ended, so nothing was done; you are acting as yourself again");

export const resolveImpersonation = (options: ImpersonationOptions = {}) =>
  createMiddleware<AppEnv>(async function resolveImpersonation(c, next) {
    const state = c.get("authState");
    const imp = state.session.impersonation;
    if (imp) {
      const target = state.impersonatedUser;
      const unavailable = !target || target.disabledAt !== null || target.tenantId !== state.user.tenantId;
      if (!target || unavailable || impersonationExpired(imp, c.get("now"))) {
        try {
          await endImpersonation(c, state.session, unavailable ? "TARGET_UNAVAILABLE" : "EXPIRED");
        } catch {
          throw new ApiError(503, "AUTH_UNAVAILABLE", "Authentication is temporarily unavailable; try again");
        }
        c.set("session", { ...state.session, impersonation: null });
        if ((options.refuseWritesOnEnd ?? true) && !SAFE_METHODS.has(c.req.method)) {
          throw impersonationEnded();
        }
      } else {
        c.set("user", target);
        c.set("actor", { realUserId: state.user.id, isImpersonating: true });
      }
    }
    await next();
  });

/**
 * Guard for actions that change the impersonated user's credentials or security,
 * or the tenant's: they are never taken on someone's behalf. The audited() wrapper
 * records the refusal as a FAIL row.
 */
export const forbidWhileImpersonating = (what = "This action") =>
  noted(
    createMiddleware<AppEnv>(async function forbidWhileImpersonating(c, next) {
      if (c.get("actor").isImpersonating) {
        throw new ApiError(403, "IMPERSONATION_FORBIDDEN", `${what} is not allowed while impersonating; exit impersonation first`);
      }
      await next();
    }),
    { errors: ["IMPERSONATION_FORBIDDEN"] },
  );
