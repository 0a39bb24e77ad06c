import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { Harness, apiRouteTable } from "./helpers";

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
  "POST /api/auth/invitations/accept": "the invitee has no session yet: the invitation token is the credential (test/invitations.test.ts)",
  "GET /api/operator/tenants": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/tenants": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
  "POST /api/operator/tenants/:id/disable": "the operator token is the credential; without it, answered as an unknown path (test/operator.test.ts)",
};

describe("isolation: no /api route is reachable without a session", () => {
  it("walks the route table: every other route answers 401 UNAUTHORIZED without a cookie", async () => {
    const routes = new Set(
      apiRouteTable(createApp())
        .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
        .map((r) => `${r.method} ${r.path}`),
    );
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
