/**
 * A refused product request gets what its client can use: a browser loading a page is
 * sent to sign-in or step-up (and back afterwards); a plain HTML form's submission is sent
 * there too (303, so the browser follows with a GET), back to the page the form was on and
 * with `notDone=1`, so the page says the action was not done and must be repeated;
 * fetch/XHR and API clients get the JSON answer they can handle, never an HTML redirect
 * they would follow blindly. These are Gatehouse's own answers: the gateway gives them the
 * API's headers (no-store, nosniff, ...) from their one owner, src/lib/own-answer-headers.ts.
 */
import { sanitizeReturnTo } from "./return-to";

/**
 * How a browser sent a request, as far as a redirect can help it: a page load (GET/HEAD
 * accepting HTML), a form submission (a POST of a form's body accepting HTML), or
 * anything else (fetch/XHR, API clients). When the browser says (`Sec-Fetch-Mode`), only
 * a navigation counts: a fetch never gets a redirect, whatever it accepts.
 */
export type BrowserRequestKind = "page-load" | "form" | "other";

/** The bodies an HTML form sends (its enctype values). */
const FORM_BODY = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\s*(;|$)/i;

export function browserRequestKind(request: Request): BrowserRequestKind {
  const mode = request.headers.get("sec-fetch-mode");
  if (mode !== null && mode.toLowerCase() !== "navigate") return "other";
  if (!(request.headers.get("accept") ?? "").toLowerCase().includes("text/html")) return "other";
  if (request.method === "GET" || request.method === "HEAD") return "page-load";
  if (request.method === "POST" && FORM_BODY.test(request.headers.get("content-type") ?? "")) return "form";
  return "other";
}

/** GET/HEAD that accepts HTML and, when the browser says, is a navigation (not fetch/XHR). */
export function isBrowserNavigation(request: Request): boolean {
  return browserRequestKind(request) === "page-load";
}

/** The page a form was on: its same-origin `Referer` as a sanitised path, else "/". */
function formPage(request: Request): string {
  const referer = request.headers.get("referer");
  if (referer === null || !URL.canParse(referer)) return "/";
  const from = new URL(referer);
  if (from.origin !== new URL(request.url).origin) return "/";
  return sanitizeReturnTo(from.pathname + from.search);
}

/**
 * The one rule for sending a refused browser request to a Gatehouse page (`page`, with its
 * own query `params`) and back: a page load comes back to itself (302); a form submission
 * (303) comes back to the page it was on, with `notDone=1`: its action was not done. Null
 * for any other request: it gets the JSON refusal.
 */
function browserRedirect(request: Request, page: string, params: [string, string][] = []): Response | null {
  const kind = browserRequestKind(request);
  if (kind === "other") return null;
  const url = new URL(request.url);
  const returnTo = kind === "page-load" ? sanitizeReturnTo(url.pathname + url.search) : formPage(request);
  const query: [string, string][] = [...params, ["returnTo", returnTo], ...(kind === "form" ? ([["notDone", "1"]] as [string, string][]) : [])];
  const location = `${page}?${query.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&")}`;
  return new Response(null, { status: kind === "form" ? 303 : 302, headers: { location } });
}

export type SignInOptions = {
  /** Where Gatehouse's own surface is mounted, e.g. "/_gatehouse". */
  gatehousePath: string;
};

/** Sign-in and back for a page load or a form (browserRedirect), else 401 JSON. */
export function unauthenticatedResponse(request: Request, options: SignInOptions): Response {
  return signInRedirect(request, options) ?? Response.json({ error: "UNAUTHORIZED", message: "Sign in to continue" }, { status: 401 });
}

/** To `<gatehousePath>/sign-in` and back for a page load or a form submission; null for any other request. */
export function signInRedirect(request: Request, options: SignInOptions): Response | null {
  return browserRedirect(request, `${options.gatehousePath}/sign-in`);
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

/** To the panel's step-up page for `purpose`, which verifies and sends the browser back (browserRedirect); null for fetch/XHR. */
export function stepUpRedirect(request: Request, options: StepUpPageOptions): Response | null {
  return browserRedirect(request, `${options.gatehousePath}/step-up`, [["purpose", options.purpose]]);
}
