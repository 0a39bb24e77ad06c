/**
 * The operator API's gate: `Authorization: Bearer <OPERATOR_TOKEN>`.
 *
 * Threat model: the operator API creates tenants and their first owners, so its token is
 * the keys to every tenant. Without the secret configured, or with a missing or wrong
 * token, the API answers exactly as an unknown path does (404 NOT_FOUND): it does not
 * exist for the caller. The comparison is of SHA-256 digests in constant time, so neither
 * the token's length nor a matching prefix shows in the timing.
 */
import { createMiddleware } from "hono/factory";
import { parseConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";

export const requireOperator = () =>
  createMiddleware<AppEnv>(async function requireOperator(c, next) {
    const expected = parseConfig(c.env).operatorToken;
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    // Both sides hashed first: equal lengths, so the compare is constant time whatever was sent.
    const ok = expected !== null && presented !== "" && timingSafeEqualString(await sha256Hex(presented), await sha256Hex(expected));
    if (!ok) throw new ApiError(404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`);
    await next();
  });
