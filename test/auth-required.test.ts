import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { Harness, apiRouteTable, scimRouteTable, seedTenant } from "./helpers";

/** Routes that answer without a session, each with its reason. */
const PUBLIC: Record<string, string> = {
  "GET /api/health": "load balancers and benchmarks",
  "POST /api/auth/login": "it is how a session is made",
  "POST /api/auth/passkey/options": "a passkey sign-in starts without a session: a challenge bound to nothing else (test/passkey-sign-in.test.ts)",
  "POST /api/auth/passkey": "it is how a session is made with a passkey",
  "GET /api/auth/sso/discover": "the sign-in page's email-first step: whether the email's domain signs in through a provider (test/sso-sign-in.test.ts)",
  "GET /api/auth/sso/start": "it is how a session is made through the tenant's identity provider: a 302 there (test/sso-sign-in.test.ts)",
  "GET /api/auth/sso/callback": "the provider's answer, bound to the browser that started the sign-in (test/sso-sign-in.test.ts)",
  "POST /api/auth/password-reset": "the user has no session: the reset link's token is the credential (test/password-reset.test.ts)",
  "POST /api/auth/forgot-password": "the user has no session; always 202, the same for any email (test/password-reset.test.ts)",
  "POST /api/auth/sso/backchannel-logout": "the identity provider calls it server to server: its signed logout token is the credential (test/sso-backchannel-logout.test.ts)",
  "POST /api/auth/invitations/accept": "the invitee has no session yet: the invitation token is the credential (test/invitations.test.ts)",
  "GET /api/operator/tenants": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/tenants": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/tenants/:id/disable": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/tenants/:id/owner-reset": "the operator token is the credential; without it, answered as an unknown path (test/operator-owner-reset.test.ts)",
  "POST /api/operator/audit/migrate": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "GET /api/operator/webhooks/dead-letters": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/webhooks/dead-letters/replay": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/webhooks/dead-letters/:eventId/replay": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "GET /api/auth/invitations/preview": "the invitee has no session yet: the invitation token shows the invitation's public facts, throttled per address (test/invitation-preview.test.ts)",
  "GET /api/openapi.json": "the API's description, generated from the routes: it describes an open-source API (test/openapi-served.test.ts)",
  "GET /api/reference": "the same description as a page (test/openapi-served.test.ts)",
  "GET /api/branding": "the product's name and look, for the pages a signed-out visitor sees (test/branding.test.ts)",
  "POST /api/product/audit-events": "the product's server calls it with its product credential and the user's assertion, never a session (test/product-api.test.ts)",
  "POST /api/product/step-up": "the product's server calls it with its product credential and the user's assertion, never a session (test/product-api.test.ts)",
};

/** `METHOD path` of each route a request can name (not the groups' middleware, not catch-alls). */
const routeKeys = (table: { method: string; path: string }[]) => new Set(table.filter((r) => r.method !== "ALL" && !r.path.includes("*")).map((r) => `${r.method} ${r.path}`));

describe("isolation: no /api route is reachable without a session", () => {
  it("walks the route table: every other route answers 401 UNAUTHORIZED without a cookie", async () => {
    const routes = routeKeys(apiRouteTable(createApp()));
    expect(routes.size).toBeGreaterThan(20);
    const h = new Harness();
    for (const route of routes) {
      if (route in PUBLIC) continue;
      const [method, path] = route.split(" ") as [string, string];
      const concrete = path.replace(/:[A-Za-z]+/g, "abc123");
      const res = await h.call(concrete, { method, ...(method === "GET" || method === "DELETE" ? {} : { body: {} }) });
      expect(res.status, route).toBe(401);
      expect(res.body.error, route).toBe("UNAUTHORIZED");
    }
  });
});

describe("isolation: no SCIM route is reachable without the tenant's SCIM token", () => {
  it("walks the SCIM routes: each answers 401 in SCIM's shape without a bearer token, a signed-in owner's session cookie included", async () => {
    const routes = routeKeys(scimRouteTable(createApp()));
    expect(routes.size).toBeGreaterThan(8);
    const h = new Harness();
    const t = await seedTenant("scimwalk");
    const { cookie } = await h.session(t.owner);
    for (const route of [...routes, "GET /scim/v2/NoSuchEndpoint"]) {
      const [method, path] = route.split(" ") as [string, string];
      const res = await h.call<{ status: string; schemas: string[] }>(`/_gatehouse${path.replace(/:[A-Za-z]+/g, "abc123")}`, { method, cookie, ...(method === "GET" || method === "DELETE" ? {} : { body: {} }) });
      expect(res.status, route).toBe(401);
      expect(res.body.status, route).toBe("401");
      expect(res.headers.get("www-authenticate"), route).toMatch(/^Bearer/);
    }
  });
});
