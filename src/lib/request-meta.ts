import Bowser from "bowser";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { withLogScope } from "./log";
import { truncateCodePoints } from "./text";

/**
 * Where a request came from, as Cloudflare's edge saw it. The address comes only from
 * `CF-Connecting-IP`, which the edge sets and overwrites; `X-Forwarded-For`,
 * `X-Real-IP` and friends are client-controlled and never read.
 */
export type RequestMeta = {
  ip: string | null;
  country: string | null;
  city: string | null;
  userAgent: string | null;
};

/** Just the address, for the per-request IP check (requestMeta also reads cf and the UA). */
export function clientIp(c: Context): string | null {
  return c.req.header("cf-connecting-ip") ?? null;
}

export function requestMeta(c: Context): RequestMeta {
  const cf = c.req.raw.cf as { country?: unknown; city?: unknown } | undefined;
  return {
    ip: clientIp(c),
    country: typeof cf?.country === "string" ? cf.country : null,
    city: typeof cf?.city === "string" ? cf.city : null,
    userAgent: userAgentOf(c.req.header("user-agent")),
  };
}

const MAX_USER_AGENT_CODE_POINTS = 512;

/** The User-Agent as stored: well-formed, at most 512 whole code points (never half a pair). */
export function userAgentOf(header: string | undefined): string | null {
  return header === undefined ? null : truncateCodePoints(header, MAX_USER_AGENT_CODE_POINTS);
}

/**
 * The request's id, for logs and the audit log: generated here for every request and
 * sent back as `X-Request-Id`. A client-sent `X-Request-Id` (or `cf-ray`, which a
 * client can send too wherever the edge does not overwrite it, as in local runs) is
 * never read, so a client cannot choose what the tamper-evident log records.
 */
export function assignRequestId() {
  return createMiddleware<{ Variables: { requestId: string } }>(async function requestId(c, next) {
    const id = crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    // Every log line written while handling this request carries the id (src/lib/log.ts).
    await withLogScope(id, next);
  });
}

/** "Chrome on macOS", "Safari on iOS", ...: a label for people, never used for security. */
export function deviceLabel(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const parsed = Bowser.parse(userAgent);
  // bowser answers "" (not undefined) for agents it cannot name, such as curl.
  const browser = parsed.browser.name || "";
  const os = parsed.os.name || "";
  if (browser && os) return `${browser} on ${os}`;
  return browser || os || "Unknown device";
}
