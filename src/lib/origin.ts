/**
 * What an http(s) origin is in configuration (ORIGIN_URL, PUBLIC_ORIGIN): a scheme, a host
 * and an optional port, nothing else. One reading for every var that holds one.
 */

/** Why `text` is not an http(s) origin, or null when it is one (a trailing "/" is allowed). */
export function originProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be http(s)";
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "" || /[?#]/.test(text)) {
    return "must be an origin only (no path, query, fragment or credentials)";
  }
  return null;
}

/** This machine only: `localhost`, 127.0.0.0/8 or [::1] (as URL.hostname writes them). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}
