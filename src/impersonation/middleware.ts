import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * Guard for actions that change the impersonated user's credentials or security,
 * or the tenant's: they are never taken on someone's behalf. The audited() wrapper
 * records the refusal as a FAIL row.
 */
export const forbidWhileImpersonating = (what = "This action") =>
  createMiddleware<AppEnv>(async function forbidWhileImpersonating(c, next) {
    if (c.get("actor").isImpersonating) {
      throw new ApiError(403, "IMPERSONATION_FORBIDDEN", `${what} is not allowed while impersonating; exit impersonation first`);
    }
    await next();
  });
