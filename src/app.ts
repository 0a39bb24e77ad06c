import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import { auditRoutes } from "./audit/routes";
import { authRoutes, publicUser } from "./auth/routes";
import type { AppEnv } from "./env";
import { ApiError, handleError, handleNotFound } from "./errors";
import { impersonationRoutes } from "./impersonation/routes";
import { enforceIpRules, ipRuleRoutes } from "./ip-rules";
import { csrfGuard } from "./lib/csrf";
import { assignRequestId } from "./lib/request-meta";
import { requireSession } from "./sessions/middleware";
import { sessionRoutes } from "./sessions/routes";
import { mfaRoutes } from "./stepup/mfa-routes";
import { stepUpRoutes } from "./stepup/routes";
import { userRoutes } from "./users/routes";

export type AppOptions = {
  /** The clock, in epoch milliseconds. Tests inject one; production uses Date.now. */
  now?: () => number;
};

const MAX_BODY_BYTES = 64 * 1024;

export function createApp(options: AppOptions = {}) {
  const now = options.now ?? Date.now;

  const api = new Hono<AppEnv>()
    .use(
      createMiddleware<AppEnv>(async function clock(c, next) {
        c.set("now", now());
        await next();
      }),
    )
    .use(assignRequestId())
    .use(
      // API answers are data, never documents: nothing to frame, sniff or cache.
      secureHeaders({
        contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
        xFrameOptions: "DENY",
        referrerPolicy: "no-referrer",
        strictTransportSecurity: "max-age=63072000; includeSubDomains",
      }),
    )
    .use(
      createMiddleware<AppEnv>(async function noStore(c, next) {
        await next();
        if (!c.res.headers.has("cache-control")) c.header("Cache-Control", "no-store");
      }),
    )
    .use(csrfGuard())
    .use(
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new ApiError(413, "PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
        },
      }),
    )
    .route("/auth", authRoutes)
    .use(requireSession())
    .use(enforceIpRules())
    .get("/me", (c) => {
      const { impersonation } = c.get("session");
      const real = c.get("realUser");
      return c.json({
        user: publicUser(c.get("user")),
        sessionId: c.get("session").id,
        ...(impersonation
          ? {
              impersonation: {
                realUser: { id: real.id, email: real.email, displayName: real.displayName },
                reason: impersonation.reason,
                startedAt: new Date(impersonation.startedAt).toISOString(),
                expiresAt: new Date(impersonation.expiresAt).toISOString(),
              },
            }
          : {}),
      });
    })
    .route("/security/sessions", sessionRoutes)
    .route("/security/stepup", stepUpRoutes)
    .route("/security/mfa", mfaRoutes)
    .route("/security/ip-rules", ipRuleRoutes)
    .route("/users", userRoutes)
    .route("/impersonate", impersonationRoutes)
    .route("/audit-logs", auditRoutes);

  const app = new Hono<AppEnv>()
    // Health first: no middleware at all, for load balancers and benchmarks.
    .get("/api/health", (c) => c.json({ ok: true }))
    .route("/api", api);

  app.onError(handleError);
  api.onError(handleError);
  app.notFound(handleNotFound);
  api.notFound(handleNotFound);
  return app;
}
