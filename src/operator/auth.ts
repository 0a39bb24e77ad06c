/**
 * The operator API's gate: `Authorization: Bearer <OPERATOR_TOKEN>`.
 *
 * Threat model: the operator API creates tenants and their first owners, so its token is
 * the keys to every tenant. Without the secret configured, or with a missing or wrong
 * token, the API answers exactly as it answers a path no route serves (`asUnknownPath`,
 * src/app.ts: the checks every API path passes, so 401 without a session, then 404):
 * same status, body and headers, so the caller cannot tell the operator API exists.
 * The comparison is of SHA-256 digests in constant time, so neither the token's length
 * nor a matching prefix shows in the timing.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { parseConfig } from "../config";
import type { AppEnv } from "../env";
import { sha256Hex, timingSafeEqualString } from "../lib/crypto";
import { noted } from "../openapi/notes";

/** The app's answer to an API path no route serves. */
export type UnknownPathAnswer = (c: Context<AppEnv>) => Promise<Response>;

export const requireOperator = (asUnknownPath: UnknownPathAnswer) =>
  noted(operatorCheck(asUnknownPath), { errors: ["NOT_FOUND", "UNAUTHORIZED"], security: "operatorToken" });

const operatorCheck = (asUnknownPath: UnknownPathAnswer) =>
  createMiddleware<AppEnv>(async function requireOperator(c, next) {
    const expected = parseConfig(c.env).operatorToken;
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    // Both sides hashed first: equal lengths, so the compare is constant time whatever was sent.
    const ok = expected !== null && presented !== "" && timingSafeEqualString(await sha256Hex(presented), await sha256Hex(expected));
    if (!ok) return asUnknownPath(c);
    await next();
  });
