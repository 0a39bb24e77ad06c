/**
 * The request's `__Host-` cookies, parsed once per request and shared by every reader
 * (the CSRF guard, the session and snapshot checks, the device cookie), with hono's own
 * parser: the first of duplicate names wins and values are URI-decoded, exactly as
 * hono's `getCookie(c, name, "host")` reads them.
 */
import type { Context } from "hono";
import { parse } from "hono/utils/cookie";

type Parsed = { header: string; cookies: Record<string, string> };

// Keyed by the incoming Request, so an entry lives exactly as long as its request.
const parsedByRequest = new WeakMap<Request, Parsed>();

/** The value of the `__Host-<name>` cookie the request carries, if any. */
export function hostCookie(c: Context, name: string): string | undefined {
  const request = c.req.raw;
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  let parsed = parsedByRequest.get(request);
  // Re-parse if the header is not the one parsed (a Request's headers can be mutable).
  if (parsed?.header !== header) {
    parsed = { header, cookies: parse(header) };
    parsedByRequest.set(request, parsed);
  }
  return parsed.cookies[`__Host-${name}`];
}
