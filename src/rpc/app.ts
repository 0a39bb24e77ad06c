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
 */
import { impersonationView } from "../impersonation/view";
import { and, eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { recordRefusals } from "../audit/refusal-recorder";
import { commitWithAudit } from "../audit/service";
import { sealChain } from "../audit/chain";
import { publicUser } from "../auth/routes";
import { auditLogs } from "../db/schema";
import { edgeCheck } from "../edge-check";
import type { AppEnv } from "../env";
import { ApiError, handleError, handleNotFound } from "../errors";
import { impersonationEnded, resolveImpersonation } from "../impersonation/middleware";
import { type ClockOptions, requestContext } from "../lib/request-context";
import { validate, validationFailed } from "../lib/validation";
import { assertEnrolledWhereRequired } from "../tenant/enrolment-gate";
import { admitSession } from "../sessions/middleware";
import { claimStepUpGrant, reloadLiveSession } from "../stepup/middleware";
import { declaredProductPurpose } from "../stepup/policy";
import { productStepUpPurposes } from "../stepup/product-purposes";
import { auditEventInputSchema, requireStepUpInputSchema, sessionIdInputSchema } from "./schemas";
import type { Authenticated } from "./types";
import { errorSummary, log } from "../lib/log";

export const RPC_ORIGIN = "https://gatehouse.rpc";
export const RPC_PATHS = {
  authenticate: "/rpc/authenticate",
  requireStepUp: "/rpc/require-step-up",
  recordAuditEvent: "/rpc/record-audit-event",
} as const;

/** Pages of unsealed rows a recording call links before answering (200 rows each). */
const SEAL_PAGES = 5;

/** The session named by the body's `sessionId`, admitted as requireSession would admit a cookie's. */
const sessionById = () =>
  createMiddleware<AppEnv>(async function sessionById(c, next) {
    const parsed = sessionIdInputSchema.safeParse(await c.req.json());
    if (!parsed.success) throw validationFailed("input", parsed.error.issues);
    admitSession(c, await reloadLiveSession(c, parsed.data.sessionId));
    await next();
  });

/**
 * A product event is recorded only as whom the product acted for: the session, as just
 * re-read (its impersonation resolved), must still act as `userId`, never as someone else.
 * An impersonation that has ended since is refused as the API refuses a write sent from the
 * member's view after it ended (409 IMPERSONATION_ENDED); one that started or changed since
 * would record the admin's own action as done for a member (409 ACTING_USER_CHANGED).
 */
function assertStillActingFor(c: Context<AppEnv>, userId: string): void {
  if (c.get("user").id === userId) return;
  if (!c.get("actor").isImpersonating) throw impersonationEnded();
  throw new ApiError(409, "ACTING_USER_CHANGED", "The session now acts for another user than the one named, so nothing was recorded");
}

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
    .post(RPC_PATHS.recordAuditEvent, sessionById(), resolveImpersonation({ refuseWritesOnEnd: false }), validate("json", auditEventInputSchema), async (c) => {
      const { sessionId: _session, userId, ip: _ip, userAgent: _ua, requestId, ...event } = c.req.valid("json");
      if (requestId) c.set("requestId", requestId);
      assertStillActingFor(c, userId);
      const tenantId = c.get("user").tenantId;
      const db = c.var.db;
      const [id] = await commitWithAudit(c, [], event).catch((err: unknown) => {
        log.error("product audit write failed", { error: errorSummary(err) });
        throw new ApiError(503, "AUDIT_UNAVAILABLE", "The audit log cannot be written right now; try again");
      });
      // commitWithAudit seals under the tenant's lease (or leaves it to its holder); the
      // caller is answered with the row's hash, so link it now (idempotent, lease-free). A
      // seal that fails here is done by the next writer or verification: hash is then null.
      await sealChain(db, tenantId, SEAL_PAGES).catch(() => undefined);
      const row = await db
        .select({ seq: auditLogs.seq, hash: auditLogs.hash })
        .from(auditLogs)
        .where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.id, id ?? "")))
        .then(([written]) => written)
        .catch(() => undefined);
      // Written (the batch committed) but not readable back: say so as an outage, never a 500.
      if (!row) throw new ApiError(503, "AUDIT_UNAVAILABLE", "The event was recorded but its place in the chain cannot be read right now");
      return c.json({ ok: true as const, seq: row.seq, hash: row.hash });
    });
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
