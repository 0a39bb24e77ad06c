import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { createDb } from "../src/db/client";
import { auditLogs } from "../src/db/schema";
import { cookieHeader, type Harness, type SeededUser } from "./helpers";

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
  return createDb(env.DB).select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.action, action))).orderBy(auditLogs.seq);
}

/**
 * A D1 binding on which another request's change lands between a route's reads and its
 * write: once a statement matching `pattern` is prepared, `meanwhile` runs (to the end,
 * on the real binding) before the batch carrying that statement.
 */
export function d1WithChangeBeforeBatch(inner: D1Database, pattern: RegExp, meanwhile: () => Promise<void>): D1Database {
  let armed = false;
  let fired = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "prepare") {
        return (query: string) => {
          if (pattern.test(query)) armed = true;
          return target.prepare(query);
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (armed && !fired) {
            fired = true;
            await meanwhile();
          }
          return target.batch(statements);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Removes `userId` as `actor` (stepped up for it). */
export async function removeMember(h: Harness, actor: SeededUser, cookie: string, userId: string) {
  await h.stepUp(cookie, "USER_ACCESS_CHANGE", actor);
  return h.call(`/api/users/${userId}`, { cookie, method: "DELETE" });
}
