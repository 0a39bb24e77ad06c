/**
 * Method override: many frameworks (Rails, Laravel, Express's method-override, ASP.NET)
 * run a POST as the method named in a header, a `_method` query parameter or a `_method`
 * form field. The gateway must guard the method the origin will run, not only the one on
 * the wire: these are the methods a request may run as. The headers are also removed
 * before the request reaches the origin (src/gateway/forward.ts), so what was checked is
 * what runs; the query parameter and the form field stay, and are checked here instead.
 */

/** Headers an origin may read as the real method; never forwarded. */
export const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"] as const;

const OVERRIDE_PARAM = "_method";
/** Form bodies are streamed, not read: a POST form may name any of these in `_method`. */
const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;
const OVERRIDABLE = ["PUT", "PATCH", "DELETE"] as const;

/** The methods `request` may run as at the origin: its own, plus any override it carries (upper case). */
export function methodsOriginMayRun(request: Request): string[] {
  const methods = new Set([request.method.toUpperCase()]);
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) for (const part of value.split(",")) methods.add(part.trim().toUpperCase());
  }
  // Without a query string there is no parameter (the URL is parsed only when there is one).
  if (request.url.includes("?")) for (const value of new URL(request.url).searchParams.getAll(OVERRIDE_PARAM)) methods.add(value.trim().toUpperCase());
  if (request.method.toUpperCase() === "POST" && FORM_TYPES.test(request.headers.get("content-type") ?? "")) {
    for (const method of OVERRIDABLE) methods.add(method);
  }
  return [...methods];
}
