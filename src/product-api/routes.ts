/**
 * The product's HTTP API, `<GATEHOUSE_PATH>/api/product/…`: what a product Worker does over
 * Workers RPC (src/rpc), for an origin that is not a Worker. It calls the very functions the
 * RPC entrypoint runs (src/rpc/calls.ts), so validation, the `app.` namespace, limits and
 * audit are the RPC's:
 *
 * - `POST /audit-events`: recordAuditEvent's input without `sessionId` and `userId`;
 * - `POST /step-up`: requireStepUp's input without `sessionId` (`{ purpose }`).
 *
 * The session and the user come from the user's identity assertion, which the origin
 * received with the request it is handling and presents in `Gatehouse-Jwt-Assertion`
 * (its `sid` and `sub`): verified here as an origin verifies it (signature, iss, aud, exp,
 * age at most 60 s). Refusals answer in the API's shape with the RPC's status and code.
 *
 * Threat model: a browser or another site calling it with a user's ambient authority (a
 * request carrying fetch metadata, Origin or cookies is refused before anything else: only
 * the product's server calls it); a caller without the product credential (`Authorization:
 * Bearer`, one of PRODUCT_API_TOKENS, compared as SHA-256 digests in constant time; without
 * the secret the API answers as an unknown path); a caller replaying another user's or an
 * old assertion (it names one live session for 60 s at most; the session is re-read in D1
 * by the RPC engine, so a revoked one records and claims nothing); and events passing for
 * Gatehouse's own (the RPC's `app.` namespace).
 */
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { type AssertionClaims, ASSERTION_HEADER, verifyAssertion } from "../gateway/assertion";
import { AssertionKeysError, loadAssertionKeys } from "../gateway/assertion-keys";
import { configuredGateway } from "../gateway/routes";
import { parseConfig } from "../config";
import { log } from "../lib/log";
import { answers, describesBody, noted } from "../openapi/notes";
import { auditEventInputSchema, requireStepUpInputSchema } from "../rpc/schemas";
import { SESSION_FAILURES } from "../sessions/check";
import { validationFailed } from "../lib/validation";
import type { UnknownPathAnswer } from "../operator/auth";
import type { createRpcApp } from "../rpc/app";
import { type RpcEngine, recordAuditEventCall, requireStepUpCall } from "../rpc/calls";
import type { AuditEventInput, RequireStepUpInput, RpcFailure } from "../rpc/types";
import { isProductCredential } from "./credentials";

/**
 * What only a browser sends: fetch metadata, Origin, cookies. Not `Sec-Fetch-Mode` on its
 * own: Node's fetch sends `Sec-Fetch-Mode: cors` with every request, and a browser never
 * sends it without `Sec-Fetch-Site` and `Sec-Fetch-Dest` (and a browser's POST carries Origin).
 */
const BROWSER_HEADERS = ["sec-fetch-site", "sec-fetch-dest", "sec-fetch-user", "origin", "cookie"] as const;

/** A request a browser sent is refused first, whatever else it carries. */
const refuseBrowsers = () =>
  createMiddleware<AppEnv>(async function refuseBrowsers(c, next) {
    if (BROWSER_HEADERS.some((name) => c.req.header(name) !== undefined)) {
      throw new ApiError(403, "BROWSER_REFUSED", "The product API is for the product's server: this request carries a browser's fetch metadata, Origin or cookies");
    }
    await next();
  });

/** `Authorization: Bearer <one of PRODUCT_API_TOKENS>`; without the secret the API answers as an unknown path. */
const requireProductCredential = (asUnknownPath: UnknownPathAnswer) =>
  createMiddleware<AppEnv>(async function requireProductCredential(c, next) {
    const credentials = parseConfig(c.env).productCredentials;
    if (credentials === null) return asUnknownPath(c);
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    if (!(await isProductCredential(presented, credentials))) {
      throw new ApiError(401, "PRODUCT_CREDENTIAL_INVALID", "Send one of PRODUCT_API_TOKENS as Authorization: Bearer <token>");
    }
    await next();
  });

/** What checking the presented assertion refuses with (presentedAssertion below). */
const ASSERTION_REFUSALS = ["ASSERTION_INVALID", "ASSERTION_KEYS_UNAVAILABLE"] as const;

const assertionInvalid = (why: string) => new ApiError(401, "ASSERTION_INVALID", `The identity assertion ${why}; present the Gatehouse-Jwt-Assertion of the request being handled`);

/** The user's assertion the origin presents, verified as an origin verifies it. */
async function presentedAssertion(c: Context<AppEnv>): Promise<AssertionClaims> {
  const gateway = configuredGateway(c.env);
  if (!gateway) throw assertionInvalid("cannot be checked: no product is configured behind Gatehouse");
  const token = c.req.header(ASSERTION_HEADER);
  if (!token) throw assertionInvalid("is missing");
  let keys;
  try {
    keys = await loadAssertionKeys(c.env.ASSERTION_SIGNING_KEYS);
  } catch (err) {
    if (!(err instanceof AssertionKeysError)) throw err;
    log.error("assertion keys unavailable", { problems: err.problems });
    throw new ApiError(503, "ASSERTION_KEYS_UNAVAILABLE", "Identity assertions cannot be checked right now; try again");
  }
  try {
    return await verifyAssertion(token, { jwks: keys.publicJwks, issuer: gateway.issuer, audience: gateway.audience, nowMs: c.get("now") });
  } catch {
    throw assertionInvalid("is not valid (signature, issuer, audience, expiry or age)");
  }
}

/** The body as a JSON object; the session and the user are the assertion's, never the body's. */
async function bodyWithout(c: Context<AppEnv>, fromAssertion: readonly string[]): Promise<Record<string, unknown>> {
  const body: unknown = await c.req.json().catch(() => {
    throw new ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON");
  });
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw validationFailed("body", [{ path: [], message: "must be a JSON object" }]);
  const named = fromAssertion.filter((name) => name in body);
  if (named.length > 0) throw validationFailed("body", named.map((name) => ({ path: [name], message: "comes from the identity assertion; leave it out" })));
  return body as Record<string, unknown>;
}

/** A call's result as this API answers it: the RPC's success as is, a refusal in the API's shape with its status. */
function answer(c: Context<AppEnv>, result: { ok: true } | RpcFailure): Response {
  if (result.ok) return c.json(result);
  const { ok: _ok, status, ...refusal } = result;
  return c.json(refusal, status as ContentfulStatusCode);
}

export function productApiRoutes(rpcApp: ReturnType<typeof createRpcApp>, asUnknownPath: UnknownPathAnswer) {
  // Hono types the context it was given more loosely than the runtime does: it is the Worker's own.
  const engine = (c: Context<AppEnv>): RpcEngine => ({ app: rpcApp, env: c.env, ctx: c.executionCtx as ExecutionContext });
  return new Hono<AppEnv>()
    .use(noted(refuseBrowsers(), { errors: ["BROWSER_REFUSED"] }))
    .use(noted(requireProductCredential(asUnknownPath), { errors: ["NOT_FOUND", "PRODUCT_CREDENTIAL_INVALID"], security: "productToken" }))
    .post(
      "/audit-events",
      describesBody(auditEventInputSchema.omit({ sessionId: true, userId: true })),
      answers(...ASSERTION_REFUSALS, ...SESSION_FAILURES, "ACTING_USER_CHANGED", "IDEMPOTENCY_KEY_REUSED", "AUDIT_UNAVAILABLE", "AUTH_UNAVAILABLE"),
      async (c) => {
        const claims = await presentedAssertion(c);
        const body = await bodyWithout(c, ["sessionId", "userId"]);
        return answer(c, await recordAuditEventCall(engine(c), { ...body, sessionId: claims.sid, userId: claims.sub } as AuditEventInput));
      },
    )
    .post(
      "/step-up",
      describesBody(requireStepUpInputSchema.omit({ sessionId: true })),
      answers(...ASSERTION_REFUSALS, ...SESSION_FAILURES, "STEP_UP_REQUIRED", "IMPERSONATION_FORBIDDEN", "AUTH_UNAVAILABLE"),
      async (c) => {
        const claims = await presentedAssertion(c);
        const body = await bodyWithout(c, ["sessionId"]);
        return answer(c, await requireStepUpCall(engine(c), { ...body, sessionId: claims.sid } as RequireStepUpInput));
      },
    );
}
