/**
 * The RPC entrypoint's engine: a small internal Hono app, so each call runs the very
 * middlewares the API and the gateway run (the edge check, the step-up claim, the audit
 * write, the refusal recorder), with the same errors. src/rpc/service.ts turns a method
 * call into a request to it and its JSON answer back into a result.
 *
 * - authenticate: the edge check on the caller's Cookie / CF-Connecting-IP / User-Agent
 *   (KV first, no D1 query on a hot call, fail closed with 503).
 * - requireStepUp and recordAuditEvent name a session by id: it is re-read from D1
 *   (never the cache), so an unknown, revoked, expired or signed-out session is 401 and
 *   nothing is claimed or recorded. Its tenant is the only one the call can touch.
 * - requireStepUp takes only the product's declared purposes; recordAuditEvent's steps
 *   (whom the product acted for, its idempotency key) are src/rpc/record-event.ts.
 */
import { impersonationView } from "../impersonation/view";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { recordRefusals } from "../audit/refusal-recorder";
import { publicUser } from "../auth/routes";
import { edgeCheck } from "../edge-check";
import type { AppEnv } from "../env";
import { handleError, handleNotFound } from "../errors";
import { resolveImpersonation } from "../impersonation/middleware";
import { type ClockOptions, requestContext } from "../lib/request-context";
import { validate, validationFailed } from "../lib/validation";
import { assertEnrolledWhereRequired } from "../tenant/enrolment-gate";
import { admitSession } from "../sessions/middleware";
import { claimStepUpGrant, reloadLiveSession } from "../stepup/middleware";
import { declaredProductPurpose } from "../stepup/policy";
import { productStepUpPurposes } from "../stepup/product-purposes";
import { auditEventInputSchema, requireStepUpInputSchema, sessionIdInputSchema } from "./schemas";
import { recordProductEvent } from "./record-event";
import type { Authenticated } from "./types";

export const RPC_ORIGIN = "https://gatehouse.rpc";
export const RPC_PATHS = {
  authenticate: "/rpc/authenticate",
  requireStepUp: "/rpc/require-step-up",
  recordAuditEvent: "/rpc/record-audit-event",
} as const;

/** The session named by the body's `sessionId`, admitted as the session check would admit a cookie's. */
const sessionById = () =>
  createMiddleware<AppEnv>(async function sessionById(c, next) {
    const parsed = sessionIdInputSchema.safeParse(await c.req.json());
    if (!parsed.success) throw validationFailed("input", parsed.error.issues);
    admitSession(c, await reloadLiveSession(c, parsed.data.sessionId));
    await next();
  });

export function createRpcApp(options: ClockOptions = {}) {
  const app = new Hono<AppEnv>()
    .use(requestContext(options))
    // Every refusal of a call whose session is known gets its FAIL row, as on the API.
    .use(recordRefusals())
    // The internal request's method is not the user's: the product decides what to do with an ended impersonation.
    .post(RPC_PATHS.authenticate, edgeCheck({ refuseWritesOnEnd: false, issueSnapshots: false }), async (c) => {
      // A tenant that requires two-factor binds the product too: no identity until enrolled.
      await assertEnrolledWhereRequired(c);
      const { session } = c.get("authState");
      const user = c.get("user");
      const impersonation = impersonationView(c.get("session"), c.get("realUser"));
      const body: Authenticated = {
        ok: true,
        user: publicUser(user),
        tenant: { id: user.tenantId },
        session: { id: session.id, expiresAt: new Date(session.expiresAt).toISOString(), amr: session.amr },
        ...(impersonation ? { impersonation } : {}),
      };
      return c.json(body);
    })
    .post(RPC_PATHS.requireStepUp, sessionById(), validate("json", requireStepUpInputSchema), async (c) => {
      const { purpose } = c.req.valid("json");
      // The product's purposes only: a call naming one of Gatehouse's own is refused before any grant is read.
      if (!declaredProductPurpose(productStepUpPurposes(c.env), purpose)) {
        throw validationFailed("input", [{ path: ["purpose"], message: "is not a step-up purpose declared in PRODUCT_STEP_UP_PURPOSES" }]);
      }
      await claimStepUpGrant(c, c.get("authState"), purpose);
      return c.json({ ok: true as const });
    })
    // Not the method either: an impersonation that has ended is refused by whom the product
    // says it acted for (src/rpc/record-event.ts), whichever request ended it.
    .post(RPC_PATHS.recordAuditEvent, sessionById(), resolveImpersonation({ refuseWritesOnEnd: false }), validate("json", auditEventInputSchema), async (c) =>
      c.json(await recordProductEvent(c, c.req.valid("json"))),
    );
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
