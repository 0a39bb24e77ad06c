import { computed, signal } from "@preact/signals";
import { ApiError, get, post, type SessionLossCode } from "../api/client";
import type { Me, Permission } from "../api/types";
import { navigate, pathname, search } from "./router";

export const me = signal<Me | null>(null);
/** False until the first /api/me answer: avoids flashing the sign-in page on reload. */
export const authReady = signal(false);
/** Shown once on the sign-in page, e.g. after a revocation. */
export const signInNotice = signal<string | null>(null);

export const can = (p: Permission) => computed(() => me.value?.user.permissions.includes(p) ?? false);
export const canViewSecurity = can("SETTINGS_SECURITY_VIEW");
export const canEditSecurity = can("SETTINGS_SECURITY_EDIT");
export const canViewTeam = can("SETTINGS_TEAM_VIEW");
/** Owners' own pages (the audit stream): the role, as the API's requireRole("owner") checks it. */
export const isOwner = computed(() => me.value?.user.role === "owner");

/** Who am I? Quiet on the first probe (no session is normal then); a lost session later is news. */
export async function loadMe(): Promise<void> {
  const hadSession = me.value !== null;
  try {
    me.value = await get<Me>("/api/me", { ownUnauthorized: !hadSession });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    me.value = null;
  } finally {
    authReady.value = true;
  }
}

const LOSS_MESSAGES: Record<SessionLossCode, string> = {
  SESSION_REVOKED: "Your session was revoked. Sign in again to continue.",
  SESSION_INVALIDATED: "You were signed out everywhere by an administrator. Sign in again to continue.",
  UNAUTHORIZED: "Your session has ended. Sign in again to continue.",
};

/**
 * The session ended: to sign-in, saying why. Requests in flight at that moment come back 401
 * too, the later ones as UNAUTHORIZED (the first answer cleared the cookie): the reason the
 * first one gave is the one shown.
 */
export function sessionLost(code: SessionLossCode): void {
  if (me.value !== null || signInNotice.value === null) signInNotice.value = LOSS_MESSAGES[code];
  me.value = null;
  const here = pathname.value + search.value;
  navigate(here.startsWith("/sign-in") ? here : `/sign-in?next=${encodeURIComponent(here)}`, { replace: true });
}

export async function signOut(): Promise<void> {
  try {
    await post("/api/auth/logout", {}, { ownUnauthorized: true });
  } finally {
    me.value = null;
    signInNotice.value = "You signed out.";
    navigate("/sign-in", { replace: true });
  }
}
