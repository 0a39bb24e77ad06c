/**
 * The session cookie's attributes, set in one place, and clearing a session's two cookies
 * together: the session cookie and its snapshot (src/sessions/snapshot.ts). Every way a
 * session stops being this browser's (a refused cookie, signing out, revoking one's own
 * current session) clears both the same way.
 */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { sessionTimeouts } from "./config";
import { SNAPSHOT_COOKIE } from "./snapshot";
import { SESSION_COOKIE } from "./token";

/** Hands a new session's token to this browser: host-only, HTTPS-only, out of scripts' reach, for the session's absolute lifetime. */
export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", prefix: "host", maxAge: sessionTimeouts(c.env).absoluteSeconds });
}

export function clearSessionCookies(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
  deleteCookie(c, SNAPSHOT_COOKIE, { path: "/", secure: true, prefix: "host" });
}
