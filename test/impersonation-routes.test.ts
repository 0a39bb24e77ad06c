import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { STEP_UP_PURPOSE } from "../src/stepup/middleware";
import { STEP_UP_POLICIES, STEP_UP_PURPOSES } from "../src/stepup/policy";
import { apiRouteTable } from "./helpers";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The state-changing /api routes that act while the session impersonates, each with its
 * reason. Every other one refuses (forbidWhileImpersonating, before its permission and
 * step-up): a new route is refused unless it is added here.
 */
const ACTS_WHILE_IMPERSONATING: Record<string, string> = {
  "POST /api/impersonate/exit": "ends the impersonation (step-up IMPERSONATION, verified with the admin's own factor)",
  "POST /api/security/stepup/verify": "earns a grant with the admin's own factor, refused for a purpose not allowed while impersonating",
  "POST /api/security/stepup/options": "a passkey challenge for the admin's own passkey, refused for a purpose not allowed while impersonating",
  "POST /api/auth/logout": "ends the session, and the impersonation that lives on it",
  // The product's server, as over RPC (src/rpc): whom it acted for is the assertion's.
  "POST /api/product/audit-events": "records the product's action as done by the admin for the member (realUserId), refused once the impersonation ended (src/rpc/record-event.ts)",
  "POST /api/product/step-up": "claims a product grant, earned only for a purpose that allows impersonation",
  // No session, so nothing to impersonate with:
  "POST /api/auth/login": "signs in; no session yet",
  "POST /api/auth/passkey/options": "a sign-in challenge; no session yet",
  "POST /api/auth/passkey": "signs in with a passkey; no session yet",
  "POST /api/auth/forgot-password": "public; no session",
  "POST /api/auth/password-reset": "public, with the reset link's token; no session",
  "POST /api/auth/invitations/accept": "public, with the invitation's token; no session",
  "POST /api/auth/sso/backchannel-logout": "the identity provider's server-to-server call, with its signed logout token; no session",
  "POST /api/operator/tenants": "the operator's bearer token, never a session",
  "POST /api/operator/tenants/:id/disable": "the operator's bearer token, never a session",
  "POST /api/operator/tenants/:id/owner-reset": "the operator's bearer token, never a session",
  "POST /api/operator/audit/migrate": "the operator's bearer token, never a session",
  "POST /api/operator/webhooks/dead-letters/replay": "the operator's bearer token, never a session",
  "POST /api/operator/webhooks/dead-letters/:eventId/replay": "the operator's bearer token, never a session",
};

type Steps = { forbids: boolean; purposes: (string | null)[] };

/** Each state-changing /api route's impersonation refusal and the step-up purposes it asks for, from the route table. */
function stateChangingRoutes(): Map<string, Steps> {
  const routes = new Map<string, Steps>();
  for (const r of apiRouteTable(createApp())) {
    // app.use() middleware is registered as ALL and applies to a whole group; only route-level handlers are declared per route.
    if (!STATE_CHANGING.has(r.method)) continue;
    const key = `${r.method} ${r.path}`;
    const steps = routes.get(key) ?? { forbids: false, purposes: [] };
    if (typeof r.handler === "function" && r.handler.name === "forbidWhileImpersonating") steps.forbids = true;
    if (typeof r.handler === "function" && STEP_UP_PURPOSE in r.handler) steps.purposes.push((r.handler as { [STEP_UP_PURPOSE]: string | null })[STEP_UP_PURPOSE]);
    routes.set(key, steps);
  }
  return routes;
}

describe("what is forbidden while impersonating: the route table and the step-up purposes say the same", () => {
  it("every state-changing /api route refuses while impersonating, unless it is listed with the reason it acts while impersonating", () => {
    const routes = stateChangingRoutes();
    expect(routes.size).toBeGreaterThan(10);
    const unguarded = [...routes].filter(([key, steps]) => !steps.forbids && !(key in ACTS_WHILE_IMPERSONATING)).map(([key]) => key);
    expect(unguarded).toEqual([]);
    const stale = Object.keys(ACTS_WHILE_IMPERSONATING).filter((key) => !routes.has(key) || routes.get(key)?.forbids);
    expect(stale).toEqual([]);
  });

  it("Gatehouse's own step-up purposes that may be earned while impersonating are exactly those the routes acting while impersonating ask for", () => {
    const needed = new Set<string | null>();
    for (const [key, steps] of stateChangingRoutes()) if (key in ACTS_WHILE_IMPERSONATING) for (const purpose of steps.purposes) needed.add(purpose);
    // A resolver (null) would hide which purposes such a route asks for: it must name one.
    expect(needed.has(null)).toBe(false);
    const allowed = new Set(STEP_UP_PURPOSES.filter((purpose) => STEP_UP_POLICIES[purpose].allowWhileImpersonating));
    expect(allowed).toEqual(needed);
  });
});
