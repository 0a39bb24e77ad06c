/**
 * An unauthenticated product request gets what its client can use: a browser loading a
 * page is sent to sign-in (and back afterwards); fetch/XHR and API clients get a 401 JSON
 * they can handle, never an HTML redirect they would follow blindly. These are Gatehouse's
 * own answers: the gateway gives them the API's headers (no-store, nosniff, ...) from
 * their one owner, src/lib/own-answer-headers.ts.
 */
import { sanitizeReturnTo } from "./return-to";

/** GET/HEAD that accepts HTML and, when the browser says, is a navigation (not fetch/XHR). */
export function isBrowserNavigation(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const mode = request.headers.get("sec-fetch-mode");
  if (mode !== null && mode.toLowerCase() !== "navigate") return false;
  return (request.headers.get("accept") ?? "").toLowerCase().includes("text/html");
}

export type SignInOptions = {
  /** Where Gatehouse's own surface is mounted, e.g. "/_gatehouse". */
  gatehousePath: string;
};

/** 302 to sign-in with a sanitised returnTo for a browser navigation, else 401 JSON. */
export function unauthenticatedResponse(request: Request, options: SignInOptions): Response {
  if (isBrowserNavigation(request)) {
    const url = new URL(request.url);
    const returnTo = sanitizeReturnTo(url.pathname + url.search);
    const location = `${options.gatehousePath}/sign-in?returnTo=${encodeURIComponent(returnTo)}`;
    return new Response(null, { status: 302, headers: { location } });
  }
  return Response.json({ error: "UNAUTHORIZED", message: "Sign in to continue" }, { status: 401 });
}

/** The panel page where a member of a tenant that requires two-factor sets it up. */
export const ENROLMENT_PAGE = "/security/two-factor";

/** 302 to the panel's enrolment page for a browser navigation; null for any other request (it gets the API's 403). */
export function enrolmentRedirect(request: Request, options: SignInOptions): Response | null {
  if (!isBrowserNavigation(request)) return null;
  return new Response(null, { status: 302, headers: { location: `${options.gatehousePath}${ENROLMENT_PAGE}` } });
}

export type StepUpPageOptions = SignInOptions & {
  /** The product purpose the request needs. */
  purpose: string;
};

/** 302 to the panel's step-up page for `purpose`, which verifies and sends the browser back to the page it asked for. */
export function stepUpRedirect(request: Request, options: StepUpPageOptions): Response {
  const url = new URL(request.url);
  const returnTo = sanitizeReturnTo(url.pathname + url.search);
  const location = `${options.gatehousePath}/step-up?purpose=${encodeURIComponent(options.purpose)}&returnTo=${encodeURIComponent(returnTo)}`;
  return new Response(null, { status: 302, headers: { location } });
}
