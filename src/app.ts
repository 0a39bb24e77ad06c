import { type Context, Hono } from "hono";
import { every } from "hono/combine";
import { impersonationView } from "./impersonation/view";
import { bodyLimit } from "hono/body-limit";
import { recordRefusals } from "./audit/refusal-recorder";
import { auditRoutes } from "./audit/routes";
import { authRoutes, publicUser } from "./auth/routes";
import type { AppEnv } from "./env";
import { ApiError, handleError, handleNotFound } from "./errors";
import { impersonationRoutes } from "./impersonation/routes";
import { ipRuleRoutes } from "./ip-rules";
import { DEFAULT_GATEHOUSE_PATH, parseConfig } from "./config";
import { tenantNameOf } from "./tenant/name";
import { EDGE_CHECK_REFUSALS, edgeCheck } from "./edge-check";
import { noted } from "./openapi/notes";
import { apiDocumentRoutes } from "./openapi/routes";
import { CLIENT_MODULE, CLIENT_MODULE_HEADERS } from "./gateway/client-module";
import { publishedKeys } from "./gateway/jwks";
import { healthRoutes } from "./health";
import { gatewayRoutes } from "./gateway/routes";
import { csrfGuard } from "./lib/csrf";
import { ownAnswerHeaders } from "./lib/own-answer-headers";
import { type ClockOptions, requestContext } from "./lib/request-context";
import { servePanel } from "./panel/serve";
import { sessionRoutes } from "./sessions/routes";
import { mfaRoutes } from "./stepup/mfa-routes";
import { passkeyRoutes } from "./passkeys/routes";
import { stepUpRoutes } from "./stepup/routes";
import { userRoutes } from "./users/routes";
import { memberLifecycleRoutes } from "./users/lifecycle-routes";
import { tenantPolicyRoutes } from "./tenant/policy-routes";
import { ssoConnectionRoutes } from "./sso/connection-routes";
import { backchannelLogoutRoutes } from "./sso/backchannel-logout";
import { ssoSignInRoutes } from "./sso/sign-in-routes";
import { requireTwoFactorEnrolment } from "./tenant/enrolment-gate";
import { accountRoutes } from "./account/routes";
import { passwordResetRoutes } from "./auth/password-reset-routes";
import { invitationRoutes } from "./users/invitations";
import { acceptInvitationRoutes } from "./auth/accept-invitation";
import { invitationPreviewRoutes } from "./auth/invitation-preview";
import { operatorRoutes } from "./operator/routes";
import { signOutPage } from "./auth/sign-out-page";
import { productApiRoutes } from "./product-api/routes";
import { createRpcApp } from "./rpc/app";
import { scimRoutes } from "./scim/routes";
import { scimTokenRoutes } from "./scim/token-routes";
import { auditStreamRoutes } from "./audit-stream/routes";

export type AppOptions = ClockOptions & {
  /** Where Gatehouse's own surface lives (GATEHOUSE_PATH, validated by src/config.ts). */
  basePath?: string;
};

const MAX_BODY_BYTES = 64 * 1024;

export function createApp(options: AppOptions = {}) {
  const base = options.basePath ?? DEFAULT_GATEHOUSE_PATH;

  // Every request Gatehouse answers or forwards (all but health): the clock, the database, an id.
  const context = requestContext(options);

  // What every API path past sign-in passes, a route's or an unknown one: the edge check, then the two-factor enrolment gate.
  const signedInChecks = noted(every(edgeCheck(), requireTwoFactorEnrolment(`${base}/api`)), {
    errors: [...EDGE_CHECK_REFUSALS, "MFA_ENROLLMENT_REQUIRED"],
    security: "session",
  });
  // An API path no route serves: those checks (401 without a session, as on every API path), then 404.
  // The operator API answers a request without its token the same way (src/operator/auth.ts).
  const asUnknownPath = async (c: Context<AppEnv>): Promise<Response> => {
    await signedInChecks(c, async () => {
      c.res = handleNotFound(c);
    });
    return c.res;
  };

  const api = new Hono<AppEnv>()
    // API answers are data, never documents: nothing to frame, sniff or cache.
    .use(ownAnswerHeaders())
    // Outside every check below, so it sees each refusal they raise.
    .use(recordRefusals())
    .use(csrfGuard())
    .use(
      noted(
        bodyLimit({
          maxSize: MAX_BODY_BYTES,
          onError: () => {
            throw new ApiError(413, "PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
          },
        }),
        { errors: ["PAYLOAD_TOO_LARGE"] },
      ),
    )
    // This API's own description, for anyone: generated from the app's routes (src/openapi/).
    .route("/", apiDocumentRoutes(base))
    .route("/operator", operatorRoutes(asUnknownPath))
    // The product's server (PRODUCT_API_TOKENS and the user's assertion), never a browser: src/product-api/routes.ts.
    .route("/product", productApiRoutes(createRpcApp(options), asUnknownPath))
    .route("/auth/invitations", acceptInvitationRoutes)
    .route("/auth/invitations", invitationPreviewRoutes)
    .route("/auth/sso", backchannelLogoutRoutes)
    .route("/auth/sso", ssoSignInRoutes)
    .route("/auth", authRoutes)
    .route("/auth", passwordResetRoutes)
    // The product's name and look for the panel's pages, signed in or not (src/panel/branding.ts).
    .get("/branding", (c) => c.json(parseConfig(c.env).branding))
    .use(signedInChecks)
    .get("/me", async (c) => {
      const impersonation = impersonationView(c.get("session"), c.get("realUser"));
      return c.json({
        user: publicUser(c.get("user")),
        ...(await tenantNameOf(c)),
        sessionId: c.get("session").id,
        ...(impersonation ? { impersonation } : {}),
        ...(c.get("mfaEnrollmentRequired") ? { mfaEnrollmentRequired: true } : {}),
      });
    })
    .route("/security/sessions", sessionRoutes)
    .route("/security/stepup", stepUpRoutes)
    .route("/security/mfa/passkeys", passkeyRoutes)
    .route("/security/mfa", mfaRoutes)
    .route("/security/ip-rules", ipRuleRoutes)
    .route("/users/invitations", invitationRoutes)
    .route("/users", userRoutes)
    .route("/users", memberLifecycleRoutes)
    .route("/tenant", tenantPolicyRoutes)
    .route("/tenant/scim-token", scimTokenRoutes)
    .route("/tenant", ssoConnectionRoutes)
    .route("/tenant/audit-stream", auditStreamRoutes)
    .route("/account", accountRoutes)
    .route("/impersonate", impersonationRoutes)
    .route("/audit-logs", auditRoutes);

  const app = new Hono<AppEnv>()
    // Health first: no middleware at all, for load balancers and benchmarks (?deep=1: D1 and KV too).
    .route(`${base}/api/health`, healthRoutes())
    .use(noted(context, { errors: ["INTERNAL_ERROR", "CONFIG_INVALID"] }))
    .route(`${base}/api`, api)
    // SCIM, for the tenant's identity provider: its bearer token alone, none of the API's session checks (src/scim/routes.ts).
    .route(`${base}/scim/v2`, scimRoutes)
    // An unknown API path is a JSON 404 (past the API's signed-in checks), never the panel's HTML.
    .all(`${base}/api/*`, handleNotFound)
    .get(`${base}/.well-known/jwks.json`, publishedKeys)
    // The module product pages import for step-up and sign-in (src/gateway/client-module.ts).
    .get(`${base}/client.js`, (c) => c.body(CLIENT_MODULE, 200, CLIENT_MODULE_HEADERS))
    // The sign-out form's target (its page is the panel's, at the same address: a GET never signs out).
    .route(`${base}/sign-out`, signOutPage)
    .get(base, (c) => c.redirect(`${base}/`, 308))
    .on(["GET", "HEAD"], `${base}/*`, servePanel({ basePath: base }))
    // The Gatehouse path is Gatehouse's alone: nothing under it reaches the product.
    .all(`${base}/*`, handleNotFound)
    // Everything else is the product's (gateway mode), or, standalone, / leads to the panel.
    .route("/", gatewayRoutes({ basePath: base }));

  app.onError(handleError);
  api.onError(handleError);
  app.notFound(handleNotFound);
  api.notFound(handleNotFound);
  return app;
}
