/**
 * The headers of every answer Gatehouse makes itself: the API's, and on product paths the
 * gateway's own refusals, redirects and errors (401, 403, 428, the redirects to sign-in,
 * step-up or enrolment, 404 standalone, 502, 503, and the worker's 503 when its
 * configuration did not parse). These answers are data, never documents: nothing to
 * frame, sniff or cache. The headers of OWASP's REST Security Cheat Sheet, plus
 * Referrer-Policy and Cross-Origin-Resource-Policy; the document-only and legacy ones
 * (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options,
 * X-Permitted-Cross-Domain-Policies, X-XSS-Protection) are left off: they do nothing for
 * JSON, and every header is carried on every answer (bench/FINDINGS.md).
 * `Cache-Control: no-store` unless the answer chose its own.
 *
 * An answer of the product's origin, passed through by the gateway, is the origin's: it
 * is never given these (the gateway marks it, `answeredByOrigin`).
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

const OWN_ANSWER_HEADERS = [
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  ["X-Frame-Options", "DENY"],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
] as const;

/** Gives an answer Gatehouse made the headers above (on its own, mutable, headers). */
export function setOwnAnswerHeaders(headers: Headers): void {
  for (const [name, value] of OWN_ANSWER_HEADERS) headers.set(name, value);
  if (!headers.has("cache-control")) headers.set("Cache-Control", "no-store");
}

/** Every answer below this middleware gets the headers above, except one the origin gave. */
export const ownAnswerHeaders = () =>
  createMiddleware<AppEnv>(async function ownAnswerHeaders(c, next) {
    await next();
    // On the response's own headers: c.header() after the handler would copy the whole Response.
    if (!c.get("answeredByOrigin")) setOwnAnswerHeaders(c.res.headers);
  });
