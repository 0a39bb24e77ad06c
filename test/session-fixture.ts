// A signed-in session for the tests that are not about signing in (Harness.session): the
// session row and its cached state made by the code every sign-in makes them with
// (prepareSession in src/sessions/service.ts, writeCachedState in src/sessions/cache.ts,
// setSessionCookie in src/sessions/cookies.ts, the disabled tenant's refusal of
// src/auth/start-session.ts), without the way in's own steps: no throttle,
// no password or second factor checked, no LOGIN_SUCCEEDED / SESSION_CREATED rows, no
// device cookie. A sign-in through POST /api/auth/login costs a test about ten D1 and KV
// round trips and an audit drain; this costs two writes. The tests about signing in (and
// any that reads what a sign-in records) use Harness.signIn, which posts to /login.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { amrOf } from "../src/auth/sign-in";
import { assertTenantActive } from "../src/auth/start-session";
import { userSessions, users } from "../src/db/schema";
import type { AppEnv } from "../src/env";
import { type ClockOptions, requestContext } from "../src/lib/request-context";
import { writeCachedState } from "../src/sessions/cache";
import { setSessionCookie } from "../src/sessions/cookies";
import { prepareSession } from "../src/sessions/service";

export type FixtureSession = { sessionId: string; userId: string };

/** POST / with `{ userId }`: a new session of that member, its cookie set as sign-in sets it. */
export function sessionFixture(options: ClockOptions) {
  return new Hono<AppEnv>().use(requestContext(options)).post("/", async (c) => {
    const { userId } = await c.req.json<{ userId: string }>();
    const db = c.var.db;
    const user = await db.query.users.findFirst({ where: eq(users.id, userId) });
    if (!user) throw new Error(`no member ${userId}`);
    // Sign-in would refuse these: a test of them signs in through /login.
    if (user.disabledAt !== null) throw new Error(`${user.email} is disabled: use Harness.signIn`);
    await assertTenantActive(c, user);
    // The factors the member signs in with: a password, and TOTP when they have it.
    const { row, token, state } = await prepareSession(c, user, amrOf(["pwd"], user.totpEnabled ? "totp" : null));
    await db.insert(userSessions).values(row);
    await writeCachedState(c.env.SESSION_CACHE, state, c.get("now"));
    setSessionCookie(c, token);
    return c.json<FixtureSession>({ sessionId: row.id, userId: user.id });
  });
}
