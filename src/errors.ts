import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ClientErrorStatusCode } from "hono/utils/http-status";
import type { AuditTargetType } from "./audit/actions";
import { ConfigError } from "./config";
import type { ERROR_CATALOGUE, ErrorCode } from "./error-catalogue";
import { errorFields, log } from "./lib/log";

/** What the audit wrapper should record about a refusal; never sent to the client. */
export type AuditHint = {
  tenantId?: string;
  actorUserId?: string | null;
  targetType?: AuditTargetType;
  targetId?: string | null;
  /** Recorded instead of the error code when they differ (e.g. LOCKED_OUT for a 429). */
  failureReason?: string;
  /** Extra facts for the FAIL row (e.g. which throttle refused). */
  metadata?: Record<string, unknown>;
  /**
   * Repeats of this refusal (same user, reason, method and route, src/audit/dedupe.ts)
   * with the same subject are counted per minute and written only at the 1st, 2nd, 4th,
   * 8th, ... occurrence, with `metadata.count`.
   */
  dedupeSubject?: string;
};

export type ApiErrorOptions = {
  /** Extra fields of the JSON body, next to `error` and `message` (e.g. `retryAfterSeconds`). */
  details?: Record<string, unknown>;
  /** Read by the audit wrappers (audited(), the refusal recorder); never sent to the client. */
  audit?: AuditHint;
};

export type { ErrorCode } from "./error-catalogue";

type Listed<S> = S extends readonly (infer T)[] ? T : S;
/** The statuses the catalogue gives `C` ("4XX": any client error, Hono's own refusals). */
type StatusOf<C extends ErrorCode> = C extends ErrorCode
  ? Listed<(typeof ERROR_CATALOGUE)[C]["status"]> extends infer S
    ? S extends "4XX"
      ? ClientErrorStatusCode
      : S
    : never
  : never;

/**
 * Every error leaves the API as `{ error: CODE, message, ...details }`.
 * Handlers throw ApiError; anything else becomes a generic 500 that leaks nothing.
 *
 * `new ApiError(403, "FORBIDDEN", "...", { details, audit })`: status, code and message always; the rest named.
 */
export class ApiError<C extends ErrorCode = ErrorCode> extends Error {
  readonly details: Record<string, unknown>;
  readonly audit: AuditHint;

  constructor(
    readonly status: StatusOf<C>,
    readonly code: C,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.details = options.details ?? {};
    this.audit = options.audit ?? {};
  }
}

/**
 * A refusal a browser should see as a page (a redirect to sign-in) rather than JSON. It
 * is still the refusal it wraps: audited as such, by code and status.
 */
export class RefusalWithResponse extends ApiError {
  constructor(
    refusal: ApiError,
    readonly response: Response,
  ) {
    super(refusal.status, refusal.code, refusal.message, { details: refusal.details, audit: refusal.audit });
    this.name = "RefusalWithResponse";
  }
}

/** The codes the catalogue answers with 404. */
type NotFoundCode = { [K in ErrorCode]: 404 extends StatusOf<K> ? K : never }[ErrorCode];

export const notFound = (what: string, code: NotFoundCode = "NOT_FOUND") => new ApiError(404, code, `${what} not found`);

export function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return { error: code, message, ...details };
}

/** Hono's own refusals (malformed JSON from the validator, ...) in our error shape. */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    return err.status === 400
      ? new ApiError(400, "MALFORMED_JSON", "Request body is not valid JSON")
      : new ApiError(err.status as ClientErrorStatusCode, "HTTP_ERROR", err.message || "Request refused");
  }
  return null;
}

export function handleError(err: Error, c: Context) {
  if (err instanceof RefusalWithResponse) return err.response;
  if (err instanceof ConfigError) {
    // Caught at startup in production (src/worker.ts); here for any env that reaches a request unparsed.
    log.error("configuration invalid", { problem: err.message });
    return c.json(errorBody("CONFIG_INVALID", "This deployment's configuration is invalid; the operator has been told"), 503);
  }
  const known = toApiError(err);
  if (known) {
    const retryAfter = known.details.retryAfterSeconds;
    if (typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
    return c.json(errorBody(known.code, known.message, known.details), known.status);
  }
  // The route, the error's name, its (filtered) message and its stack frames: enough to
  // find the fault, never a header, a body or a query's parameters (src/lib/log.ts).
  log.error("unexpected error", { route: `${c.req.method} ${c.req.routePath}`, ...errorFields(err) });
  return c.json(errorBody("INTERNAL_ERROR", "Something went wrong"), 500);
}

export function handleNotFound(c: Context) {
  return c.json(errorBody("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), 404);
}
