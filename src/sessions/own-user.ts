import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { type User, users } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * The session's own (real) user as D1 has it now, never the cached copy: for routes that
 * change or check the user's own credentials (a factor, the password, a step-up). While
 * impersonating this is the admin; routes acting on the impersonated user's account are
 * refused before they get here (forbidWhileImpersonating).
 */
export async function loadOwnUser(c: Context<AppEnv>): Promise<User> {
  const user = await c.var.db.query.users.findFirst({ where: eq(users.id, c.get("session").userId) });
  if (!user) throw new ApiError(401, "SESSION_REVOKED", "Your session was revoked or has expired");
  return user;
}
