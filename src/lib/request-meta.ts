import Bowser from "bowser";
import type { Context } from "hono";

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
    userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
  };
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
