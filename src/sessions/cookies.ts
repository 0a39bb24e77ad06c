/**
 * Clearing a session's two cookies together: the session cookie and its snapshot
 * (src/sessions/snapshot.ts). Every way a session stops being this browser's (a refused
 * cookie, signing out, revoking one's own current session) clears both the same way.
 */
import type { Context } from "hono";
import { deleteCookie } from "hono/cookie";
import { SNAPSHOT_COOKIE } from "./snapshot";
import { SESSION_COOKIE } from "./token";

export function clearSessionCookies(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, prefix: "host" });
  deleteCookie(c, SNAPSHOT_COOKIE, { path: "/", secure: true, prefix: "host" });
}
