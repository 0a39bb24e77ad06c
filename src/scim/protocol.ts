/**
 * SCIM 2.0's wire format (RFC 7643, RFC 7644) as Gatehouse speaks it: the schema URNs, the
 * media type, the base URL an identity provider is given (from PUBLIC_ORIGIN, never the
 * request's Host), and every refusal in SCIM's own error shape (RFC 7644 §3.12).
 *
 * Refusals are raised as the catalogue's ApiErrors (src/error-catalogue.ts), like everywhere
 * else, so the audit wrappers record them by code; only their answer differs. Anything else
 * that fails (D1 or KV unavailable) is 503: nothing was done, the provider retries.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError, parseConfig } from "../config";
import type { AppEnv, Bindings } from "../env";
import { ApiError, type ErrorCode, toApiError } from "../errors";
import { errorFields, log } from "../lib/log";

export const SCIM_SCHEMAS = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  error: "urn:ietf:params:scim:api:messages:2.0:Error",
  serviceProviderConfig: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
  resourceType: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
  schema: "urn:ietf:params:scim:schemas:core:2.0:Schema",
} as const;

export const SCIM_MEDIA_TYPE = "application/scim+json";

/** `<PUBLIC_ORIGIN><GATEHOUSE_PATH>/scim/v2`: what an owner pastes into their provider, and every resource's location. */
export function scimBaseUrl(env: Bindings): string {
  const { publicOrigin, gatehousePath } = parseConfig(env);
  return `${publicOrigin}${gatehousePath}/scim/v2`;
}

/** A SCIM answer: JSON as `application/scim+json`. */
export function scimJson(c: Context<AppEnv>, body: unknown, status: ContentfulStatusCode = 200): Response {
  return c.json(body, status, { "Content-Type": SCIM_MEDIA_TYPE });
}

/** The scimType (RFC 7644 §3.12) of each code that has one. */
const SCIM_TYPES: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: "invalidValue",
  MALFORMED_JSON: "invalidSyntax",
  SCIM_INVALID_FILTER: "invalidFilter",
  SCIM_INVALID_PATH: "invalidPath",
  SCIM_NO_TARGET: "noTarget",
  SCIM_MUTABILITY: "mutability",
  USER_EXISTS: "uniqueness",
};

function unavailable(c: Context<AppEnv>, err: Error): ApiError {
  if (err instanceof ConfigError) {
    log.error("configuration invalid", { problem: err.message });
    return new ApiError(503, "CONFIG_INVALID", "This deployment's configuration is invalid; the operator has been told");
  }
  // A store that failed (or a fault): nothing is reported as done, and the provider retries.
  log.error("SCIM request failed", { route: `${c.req.method} ${c.req.routePath}`, ...errorFields(err) });
  return new ApiError(503, "AUTH_UNAVAILABLE", "Not done: a store SCIM needs is unavailable; retry");
}

/** The SCIM API's error handler: every error in SCIM's shape. */
export function scimErrorAnswer(err: Error, c: Context<AppEnv>): Response {
  const error = toApiError(err) ?? unavailable(c, err);
  const scimType = SCIM_TYPES[error.code];
  if (error.code === "SCIM_TOKEN_INVALID") c.header("WWW-Authenticate", 'Bearer realm="scim"');
  const body = { schemas: [SCIM_SCHEMAS.error], status: String(error.status), ...(scimType ? { scimType } : {}), detail: error.message };
  return scimJson(c, body, error.status);
}
