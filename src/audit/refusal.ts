/**
 * What a refusal is, in one place: an error answer below 500, except a 428 step-up
 * challenge, which is a question to the client and is not written. (TOTP_REQUIRED at
 * sign-in is written: a right password for a TOTP user must leave a trace.)
 * Whoever writes (or counts) the FAIL row for a request's refusal marks it, so the
 * app-level recorder (src/audit/refusal-recorder.ts) writes only what nobody else did.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { type ApiError, toApiError } from "../errors";

export function refusalOf(err: unknown): ApiError | null {
  const error = toApiError(err);
  if (!error || error.status >= 500 || error.status === 428) return null;
  return error;
}

export function markRefusalRecorded(c: Context<AppEnv>): void {
  c.set("refusalRecorded", true);
}
