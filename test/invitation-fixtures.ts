import { type CallOptions, cookieHeader, type Harness, type SeededUser } from "./helpers";
import { auditRowsOf } from "./audit-store";

export const NEW_PASSWORD = "a long enough passphrase for tests";

export type InvitationBody = {
  invitation: { id: string; email: string; role: string; status: string; expiresAt: string };
  link: string;
  emailed: boolean;
};
export type AcceptBody = { user: { id: string; email: string; role: string; tenantId: string }; sessionId: string };

export const invite = (h: Harness, cookie: string, email: string, role = "member") => h.call<InvitationBody>("/api/users/invitations", { cookie, body: { email, role } });

export const tokenOf = (link: string) => new URL(link).searchParams.get("token") ?? "";

export async function accept(h: Harness, token: string, password = NEW_PASSWORD, displayName = "New Person") {
  const res = await h.call<AcceptBody>("/api/auth/invitations/accept", { body: { token, displayName, password } });
  return { ...res, sessionCookie: res.cookie ? cookieHeader(res.cookie) : undefined };
}

/** The tenant's audit rows for one action, oldest first. */
export function auditRows(tenantId: string, action: string) {
  return auditRowsOf(tenantId, action);
}

/** The D1 binding on which another request's change lands before a route's batch (test/helpers.ts). */
export { d1WithChangeBeforeBatch } from "./helpers";

/** Removes `userId` as `actor` (stepped up for it); `options` for the removal itself (e.g. its env). */
export async function removeMember(h: Harness, actor: SeededUser, cookie: string, userId: string, options: CallOptions = {}) {
  await h.stepUp(cookie, "USER_ACCESS_CHANGE", actor);
  return h.call(`/api/users/${userId}`, { ...options, cookie, method: "DELETE" });
}
