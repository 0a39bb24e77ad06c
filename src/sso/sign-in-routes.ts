/**
 * Signing in through the tenant's identity provider (OpenID Connect, authorization code
 * with PKCE), mounted at /api/auth/sso without a session:
 *
 *   GET /discover?email=   does the email's domain sign in through a provider? (the
 *                          sign-in page's email-first step)
 *   GET /start?email=|?tenant=<slug>&returnTo=   302 to the provider (./flows.ts)
 *   GET /callback          the provider's answer: the flow claimed (./flows.ts), the code
 *                          redeemed and the ID token validated (./id-token.ts), the member
 *                          found, linked or created (./identity.ts), then sign-in's own
 *                          steps (src/auth/sign-in.ts: the address's throttle, the IP
 *                          rules, a disabled member; a disabled tenant in startSession),
 *                          and a 302 to the sanitised returnTo.
 *
 * Start and callback are browser navigations: a refusal is audited (LOGIN_FAILED with its
 * reason, in the tenant's log once the flow names one) and answered with a redirect to
 * the panel's sign-in page carrying `?ssoError=<CODE>` when the request accepts HTML, as
 * JSON otherwise. What is validated, and what is not done: docs/sso.md.
 */
import { eq } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { audited } from "../audit/middleware";
import { admitSignIn, secondFactor, startSignedInSession } from "../auth/sign-in";
import { reserveAddressAttempt } from "../auth/throttle";
import { parseConfig } from "../config";
import { tenants } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, toApiError } from "../errors";
import { isBrowserNavigation } from "../gateway/navigation";
import { sanitizeReturnTo } from "../gateway/return-to";
import { failClosed } from "../lib/fail-closed";
import { validate, validationFailed } from "../lib/validation";
import { beginFlow, claimFlow } from "./flows";
import { redeemCode } from "./id-token";
import { identifySsoMember } from "./identity";
import { callbackQuery, discoverQuery, startQuery } from "./schemas";
import { type Connection, connectionForDomain, emailDomain, loadConnection } from "./store";
import { ssoStartUrl } from "./urls";
import { ssoSubject, ssoWayIn } from "./way-in";
import { answers } from "../openapi/notes";

const notConfigured = (tenantId?: string) =>
  new ApiError(404, "SSO_NOT_CONFIGURED", "Single sign-on is not set up for this email's domain or organisation", { audit: tenantId ? { tenantId, actorUserId: null } : {} });

/** Anyone may ask: each answer is D1 work (and a start a D1 row), so the address's sign-in limit counts it. */
async function countAddress(c: Context<AppEnv>): Promise<void> {
  const throttled = await reserveAddressAttempt(c);
  if (throttled) {
    throw new ApiError(429, "TOO_MANY_ATTEMPTS", "Too many sign-in attempts from this address; try again later", { details: { retryAfterSeconds: throttled.retryAfterSeconds } });
  }
}

/**
 * A refusal of a browser navigation becomes a redirect to the panel's sign-in page with
 * `?ssoError=<CODE>`; any other client keeps the JSON. Placed after audited(), which
 * still sees (and writes) the refusal.
 */
const answerBrowsersWithSignInPage = () =>
  createMiddleware<AppEnv>(async function answerBrowsersWithSignInPage(c, next) {
    await next();
    const refusal = toApiError(c.error);
    if (!refusal || !isBrowserNavigation(c.req.raw)) return;
    const location = `${parseConfig(c.env).gatehousePath}/sign-in?ssoError=${encodeURIComponent(refusal.code)}`;
    c.res = new Response(null, { status: 302, headers: { location } });
  });

/** The connection a start names: by the email's domain, or the organisation's slug. */
async function connectionToStart(c: Context<AppEnv>, query: { email?: string | undefined; tenant?: string | undefined }) {
  const db = c.var.db;
  const connection = await failClosed("single sign-on connection lookup", async (): Promise<Connection | null> => {
    if (query.email !== undefined) return connectionForDomain(db, emailDomain(query.email));
    const tenant = await db.query.tenants.findFirst({ columns: { id: true }, where: eq(tenants.slug, query.tenant ?? "") });
    return tenant ? loadConnection(db, tenant.id) : null;
  });
  if (!connection) throw notConfigured();
  return connection;
}

export const ssoSignInRoutes = new Hono<AppEnv>()
  .get("/discover", validate("query", discoverQuery), answers("TOO_MANY_ATTEMPTS", "AUTH_UNAVAILABLE"), async (c) => {
    await countAddress(c);
    const { email } = c.req.valid("query");
    const connection = await failClosed("single sign-on connection lookup", () => connectionForDomain(c.var.db, emailDomain(email)));
    return c.json(connection ? { sso: true, startUrl: ssoStartUrl(c.env, email) } : { sso: false });
  })
  .get("/start", audited("LOGIN_FAILED", { targetType: "user" }), answerBrowsersWithSignInPage(), answers("VALIDATION_FAILED", "SSO_NOT_CONFIGURED", "TOO_MANY_ATTEMPTS", "AUTH_UNAVAILABLE"), async (c) => {
    const parsed = startQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationFailed("query", parsed.error.issues);
    await countAddress(c);
    const connection = await connectionToStart(c, parsed.data);
    const authorizationUrl = await beginFlow(c, connection, { returnTo: sanitizeReturnTo(parsed.data.returnTo), loginHint: parsed.data.email ?? null });
    return c.redirect(authorizationUrl, 302);
  })
  .get("/callback", audited("LOGIN_FAILED", { targetType: "user" }), answerBrowsersWithSignInPage(), answers("VALIDATION_FAILED", "SSO_FLOW_INVALID", "SSO_TOKEN_INVALID", "SSO_PROVIDER_REFUSED", "SSO_EMAIL_NOT_VERIFIED", "SSO_DOMAIN_MISMATCH", "SSO_USER_NOT_PROVISIONED", "SSO_NOT_CONFIGURED", "USER_DISABLED", "TENANT_DISABLED", "IP_BLOCKED", "AUTH_UNAVAILABLE"), async (c) => {
    const query = new URL(c.req.url).searchParams;
    const parsed = callbackQuery.safeParse(Object.fromEntries(query));
    if (!parsed.success) throw validationFailed("query", parsed.error.issues);
    const claimed = await claimFlow(c, parsed.data.state);
    const connection = await failClosed("single sign-on connection lookup", () => loadConnection(c.var.db, claimed.flow.tenantId));
    // Deleted (or replaced by another provider's) since the flow began: nothing to check the answer against.
    if (!connection || connection.id !== claimed.flow.connectionId) throw notConfigured(claimed.flow.tenantId);
    const identity = await redeemCode(c, connection, claimed, query);
    const member = await identifySsoMember(c, connection, identity);
    const way = await ssoWayIn(c, connection, identity, member);
    const admitted = await admitSignIn(c, ssoSubject(member), way);
    const factor = await secondFactor(c, admitted, {});
    await startSignedInSession(c, admitted, factor);
    // Sanitised when stored and again here: same-origin paths only (src/gateway/return-to.ts).
    return c.redirect(sanitizeReturnTo(claimed.flow.returnTo), 302);
  });
