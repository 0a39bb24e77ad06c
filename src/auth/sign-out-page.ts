/**
 * `POST <GATEHOUSE_PATH>/sign-out`: the sign-out a product offers its users, as a plain
 * HTML form on a product page (a GET of this address is the panel's page with the button,
 * and never signs out) or through client.js's `signOut()`. It runs the API's sign-out
 * (./routes.ts: `signOutChecks`, `signOutThisSession`), then lands the browser on
 * SIGN_OUT_PATH: a form with a 303 (src/gateway/navigation.ts tells a form from fetch),
 * fetch with `{ success, redirectTo }` for the script to follow (a page under a
 * `no-referrer` policy, as the panel's, sends a form's Origin as "null", which the CSRF
 * rules refuse; its fetch keeps the real one). A browser whose session had already ended
 * lands there too: there is nothing left to end.
 *
 * Threat model: another site signing a user out (logout CSRF: the API's CSRF rules, a
 * cross-site POST is 403 and ends nothing), a link or image that signs out (a GET never
 * does), and an open redirect (the landing path comes from configuration, never from the
 * request).
 */
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { recordRefusals } from "../audit/refusal-recorder";
import { parseConfig } from "../config";
import type { AppEnv } from "../env";
import { toApiError } from "../errors";
import { browserRequestKind } from "../gateway/navigation";
import { PROPAGATED, type Propagation, withPropagation } from "../propagation";
import { csrfGuard } from "../lib/csrf";
import { ownAnswerHeaders } from "../lib/own-answer-headers";
import { SESSION_FAILURES } from "../sessions/middleware";
import { clearSessionCookies } from "../sessions/cookies";
import { signOutChecks, signOutThisSession } from "./routes";

/** Where the browser goes now: a form is sent there (303), a script is told where (JSON). */
function landing(c: Context<AppEnv>, propagation: Propagation = PROPAGATED): Response {
  const redirectTo = parseConfig(c.env).signOutPath;
  if (browserRequestKind(c.req.raw) === "form") return c.redirect(redirectTo, 303);
  return c.json({ success: true, redirectTo, ...withPropagation(propagation) });
}

/** A sign-out without a live session (none, ended or revoked) lands all the same: it is what was asked. */
const alreadySignedOut = () =>
  createMiddleware<AppEnv>(async function alreadySignedOut(c, next) {
    await next();
    const refusal = toApiError(c.error);
    if (!refusal || !(SESSION_FAILURES as readonly string[]).includes(refusal.code)) return;
    c.res = landing(c);
    clearSessionCookies(c);
  });

// On the POST alone: the GET at this address is the panel's page, with the panel's headers.
export const signOutPage = new Hono<AppEnv>().post("/", ownAnswerHeaders(), recordRefusals(), csrfGuard(), alreadySignedOut(), ...signOutChecks(), async (c) => {
  return landing(c, await signOutThisSession(c));
});
