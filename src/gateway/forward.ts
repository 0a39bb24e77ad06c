/**
 * What crosses the gateway, in each direction.
 *
 * To the origin: the client's request, streamed, with Gatehouse's cookies removed (the
 * origin never sees a session token, so a compromised or logging origin cannot replay
 * one), the `Gatehouse-*` header namespace cleared before the assertion is set (a
 * client cannot forge its identity by sending the header itself) and the method-override
 * headers dropped (src/gateway/method-override.ts). The client's address and the public
 * host and scheme go in the conventional proxy headers, written here and never passed on
 * from the client: `X-Forwarded-For` and `X-Real-IP` carry CF-Connecting-IP (the one
 * address Gatehouse trusts, src/lib/request-meta.ts; absent when it is absent), and
 * `X-Forwarded-Host` / `X-Forwarded-Proto` carry PUBLIC_ORIGIN's host and scheme (from
 * configuration, never the request's Host). Incoming `Forwarded`, `X-Forwarded-*` and
 * `X-Real-IP` are dropped first, so an origin that builds links or rate limits from them
 * reads only what Gatehouse wrote.
 *
 * To the client: the origin's response, streamed, minus any Set-Cookie that would set
 * or clear one of Gatehouse's cookies (an origin must not fixate or log out a session).
 */
import { DEVICE_COOKIE as DEVICE_COOKIE_NAME } from "../auth/device";
import { SNAPSHOT_COOKIE as SNAPSHOT_COOKIE_NAME } from "../sessions/snapshot";
import { SESSION_COOKIE as SESSION_COOKIE_NAME } from "../sessions/token";
import { ASSERTION_HEADER } from "./assertion";
import { METHOD_OVERRIDE_HEADERS } from "./method-override";

/** Gatehouse's cookies as the browser sends them (both are __Host- cookies). */
export const SESSION_COOKIE = `__Host-${SESSION_COOKIE_NAME}`;
export const DEVICE_COOKIE = `__Host-${DEVICE_COOKIE_NAME}`;
export const SNAPSHOT_COOKIE = `__Host-${SNAPSHOT_COOKIE_NAME}`;
/** Only Gatehouse reads, sets or clears these; the origin never sees or touches them. */
export const GATEHOUSE_COOKIES = [SESSION_COOKIE, DEVICE_COOKIE, SNAPSHOT_COOKIE] as const;
/** Every incoming header with this prefix is dropped: the namespace is Gatehouse's. */
const RESERVED_HEADER_PREFIX = "gatehouse-";

/**
 * A cookie name as the browser's prefix rules see it: case-insensitive `__Host-` and
 * `__Secure-` prefixes stripped, lower case. "__HOST-Gatehouse_Session" and
 * "gatehouse_session" are the same cookie for our purposes.
 */
export function canonicalCookieName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^__(host|secure)-/, "");
}

function protectedSet(names: readonly string[]): Set<string> {
  return new Set(names.map(canonicalCookieName));
}

/** The name of one `name=value` crumb (RFC 6265bis: no "=" means an empty name). */
function crumbName(crumb: string): string {
  const eq = crumb.indexOf("=");
  return eq < 0 ? "" : crumb.slice(0, eq);
}

/**
 * The Cookie header without the protected cookies; null when nothing is left. Several
 * Cookie headers reach us joined by ", ", so a crumb is also split at commas when a
 * protected name hides behind one.
 */
export function stripCookies(header: string | null, protectedNames: readonly string[]): string | null {
  if (!header) return null;
  const blocked = protectedSet(protectedNames);
  const isBlocked = (crumb: string) => blocked.has(canonicalCookieName(crumbName(crumb)));
  const kept: string[] = [];
  for (const crumb of header.split(";")) {
    const pieces = crumb.split(",");
    if (pieces.some(isBlocked)) kept.push(...pieces.filter((piece) => !isBlocked(piece) && piece.trim() !== ""));
    else if (crumb.trim() !== "") kept.push(crumb);
  }
  const result = kept.map((crumb) => crumb.trim()).join("; ");
  return result === "" ? null : result;
}

/** What the origin learns about the client's request in the proxy headers. */
export type ForwardedFacts = {
  /** CF-Connecting-IP, or null (then no address header is sent). */
  clientIp: string | null;
  /** PUBLIC_ORIGIN, e.g. "https://app.example.com". */
  publicOrigin: string;
};

export type OriginRequestOptions = {
  /** The signed identity assertion; null for a public path without a session. */
  assertion: string | null;
  /** The session cookie's full name as the browser sends it (e.g. "__Host-gatehouse_session"). */
  sessionCookieName: string;
  /** Where the origin lives (scheme, host, port); the path and query stay the client's. */
  originUrl?: string;
  /** The client's address and the public host and scheme, for the proxy headers. */
  forwarded: ForwardedFacts;
};

const METHOD_OVERRIDE = new Set<string>(METHOD_OVERRIDE_HEADERS);

/** Whether an incoming header (by its lower-case name) must not reach the origin. */
function isWithheld(name: string): boolean {
  // Host comes from the URL; the cookie header is rebuilt below.
  if (name === "host" || name === "cookie") return true;
  // "_" too: CGI-style origins read Gatehouse_Jwt_Assertion as the same header.
  const dashed = name.includes("_") ? name.replaceAll("_", "-") : name;
  // The step-up check guarded the method on the wire and these; the origin must not see another.
  if (dashed.startsWith(RESERVED_HEADER_PREFIX) || METHOD_OVERRIDE.has(dashed)) return true;
  // The proxy headers are Gatehouse's to write (setForwarded); a client's never pass.
  return dashed === "forwarded" || dashed === "x-real-ip" || dashed.startsWith("x-forwarded-");
}

/** The conventional proxy headers, written from what Gatehouse knows (the client's were dropped). */
function setForwarded(headers: Headers, facts: ForwardedFacts): void {
  if (facts.clientIp !== null) {
    headers.set("x-forwarded-for", facts.clientIp);
    headers.set("x-real-ip", facts.clientIp);
  }
  const publicUrl = new URL(facts.publicOrigin);
  headers.set("x-forwarded-host", publicUrl.host);
  headers.set("x-forwarded-proto", publicUrl.protocol.slice(0, -1));
}

/** The request to send to the origin: same method, path, query and streamed body. */
export function originRequest(request: Request, options: OriginRequestOptions): Request {
  let url = request.url;
  if (options.originUrl) {
    const target = new URL(url);
    const origin = new URL(options.originUrl);
    target.protocol = origin.protocol;
    target.host = origin.host;
    url = target.toString();
  }
  // One copy of the headers, then the few withheld ones removed (names iterate in lower case).
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (isWithheld(name)) headers.delete(name);
  const cookie = stripCookies(request.headers.get("cookie"), [options.sessionCookieName, DEVICE_COOKIE, SNAPSHOT_COOKIE]);
  if (cookie !== null) headers.set("cookie", cookie);
  setForwarded(headers, options.forwarded);
  if (options.assertion !== null) headers.set(ASSERTION_HEADER, options.assertion);
  const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
  return new Request(url, {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    // The origin's redirects go back to the browser, not followed here.
    redirect: "manual",
  });
}

/**
 * Whether a Set-Cookie line would set or clear a protected cookie. A nameless cookie
 * ("=__Host-gatehouse_session=x", or no "=" at all) counts by its value's leading name:
 * some browsers send such a cookie back as if that were its name.
 */
function setsProtectedCookie(line: string, blocked: Set<string>): boolean {
  const first = line.split(";", 1)[0] ?? "";
  const name = crumbName(first);
  if (name.trim() !== "") return blocked.has(canonicalCookieName(name));
  const value = first.includes("=") ? first.slice(first.indexOf("=") + 1) : first;
  return blocked.has(canonicalCookieName(crumbName(value) || value));
}

/** Clear-Site-Data without "cookies" or "*" (they would sign the user out); null when nothing is left. */
function withoutCookieClearing(header: string): string | null {
  const kept = header
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "" && !/^"(cookies|\*)"$/i.test(d));
  return kept.length === 0 ? null : kept.join(", ");
}

export type ClientResponseOptions = {
  /** Cookies only Gatehouse may set or clear (session, device). */
  protectedCookieNames: readonly string[];
};

/**
 * The origin's response for the client: streamed as is, minus Set-Cookie of protected
 * cookies. A WebSocket upgrade (101) keeps its socket; it too loses such a Set-Cookie.
 */
export function clientResponse(response: Response, options: ClientResponseOptions): Response {
  const blocked = protectedSet(options.protectedCookieNames);
  const setCookies = response.headers.getSetCookie();
  const allowed = setCookies.filter((line) => !setsProtectedCookie(line, blocked));
  const clearSite = response.headers.get("clear-site-data");
  const keptClear = clearSite === null ? null : withoutCookieClearing(clearSite);
  if (allowed.length === setCookies.length && keptClear === clearSite) return response;
  const headers = new Headers(response.headers);
  headers.delete("set-cookie");
  for (const line of allowed) headers.append("set-cookie", line);
  if (keptClear === null) headers.delete("clear-site-data");
  else headers.set("clear-site-data", keptClear);
  if (response.status === 101 && response.webSocket) return new Response(null, { status: 101, webSocket: response.webSocket, headers });
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
