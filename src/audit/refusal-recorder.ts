/**
 * The app-level refusal recorder: every refusal of a request that identifies a tenant
 * gets a FAIL row, reads included, whichever check refused it (CSRF, body limit, the
 * session check, permission, validation, not found, ...). A route's own audited()
 * wrapper and IP enforcement record theirs under their own action; everything else is
 * written here as REQUEST_REFUSED, repeats of the same refusal (user, reason, method
 * and route) deduplicated per minute (rows at the 1st, 2nd, 4th, ... with the count,
 * see dedupe.ts).
 *
 * Who is refused: the signed-in user once the session check passed; before that (or
 * when it failed, e.g. a revoked cookie) the cookie's session, but only when its id
 * resolves to a real session row AND its secret matches that row's hash. A client-sent
 * id alone never picks a tenant; a request nobody can be identified for has no log.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import type { ApiError } from "../errors";
import { identifySession } from "../sessions/middleware";
import { recordRepeatedRefusal } from "./dedupe";
import { refusalOf } from "./refusal";

/** Whose log a refusal goes to and who was refused (null: no tenant can be named, no row). */
export type RefusedWho = (c: Context<AppEnv>, error: ApiError) => Promise<{ tenantId: string; userId: string | null } | null>;

const refusedWho: RefusedWho = async (c, error) => {
  const user = c.get("user");
  if (user) return { tenantId: user.tenantId, userId: user.id };
  if (error.audit.tenantId) return { tenantId: error.audit.tenantId, userId: error.audit.actorUserId ?? null };
  // An outage while identifying leaves the refusal as it is, unwritten (it is logged there).
  const state = await identifySession(c).catch(() => null);
  return state ? { tenantId: state.session.tenantId, userId: state.session.userId } : null;
};

/** `who`: the API's (above) by default; SCIM names its token's tenant and never reads a cookie (src/scim/routes.ts). */
export const recordRefusals = (who: RefusedWho = refusedWho) =>
  createMiddleware<AppEnv>(async function recordRefusals(c, next) {
    await next();
    const error = refusalOf(c.error);
    if (!error || c.get("refusalRecorded")) return;
    const refused = await who(c, error);
    if (!refused) return;
    const hint = error.audit;
    const reason = hint.failureReason ?? error.code;
    await recordRepeatedRefusal(c, {
      action: "REQUEST_REFUSED",
      outcome: "FAIL",
      tenantId: refused.tenantId,
      actorUserId: refused.userId,
      targetType: hint.targetType ?? null,
      targetId: hint.targetId ?? null,
      failureReason: reason,
      metadata: { status: error.status, method: c.req.method, path: c.req.path },
    });
  });
