import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { AUDITED } from "../src/audit/middleware";
import { apiRouteTable, scimRouteTable } from "./helpers";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** State-changing routes deliberately not wrapped, each with its reason. */
const EXEMPT: Record<string, string> = {
  // The product's HTTP API runs the RPC's calls, whose engine records the event (its own row) and every refusal of a known session (src/rpc/app.ts).
  "POST /api/product/audit-events": "the event is its own audit row; the RPC engine records refusals",
  "POST /api/product/step-up": "the RPC engine records refusals, as for requireStepUp over RPC",
  // The operator's audit migration changes no tenant: it moves events that exist already into the tenant's object, as the hourly cron and every audit read do; its refusals name no tenant to record them in.
  "POST /api/operator/audit/migrate": "moves existing events to where the chain lives; changes no tenant, and its refusals have no tenant (src/operator/routes.ts)",
  // Replaying a dead-lettered webhook changes no tenant: it asks the tenant's object to send an event of its chain once more.
  "POST /api/operator/webhooks/dead-letters/replay": "resends events the chain holds; changes no tenant (src/webhooks/routes.ts)",
  "POST /api/operator/webhooks/dead-letters/:eventId/replay": "resends an event the chain holds; changes no tenant (src/webhooks/routes.ts)",
};

/** The API's routes and the SCIM service's (src/scim/routes.ts): both change state, both are audited the same way. */
const routeTable = (app: ReturnType<typeof createApp>) => [...apiRouteTable(app), ...scimRouteTable(app)];

describe("coverage: every state-changing /api and SCIM route is declared through audited()", () => {
  it("walks the route table and finds the wrapper on each one", () => {
    const app = createApp();
    const byRoute = new Map<string, boolean>();
    for (const r of routeTable(app)) {
      if (!STATE_CHANGING.has(r.method)) continue;
      const key = `${r.method} ${r.path}`;
      const isAudited = typeof r.handler === "function" && AUDITED in r.handler;
      byRoute.set(key, (byRoute.get(key) ?? false) || isAudited);
    }
    expect(byRoute.size).toBeGreaterThan(10);
    const missing = [...byRoute].filter(([key, ok]) => !ok && !(key in EXEMPT)).map(([key]) => key);
    expect(missing).toEqual([]);
  });

  it("audited() is the first route-level handler, so no refusal happens before its FAIL row is set up", () => {
    const app = createApp();
    const first = new Map<string, boolean>();
    for (const r of routeTable(app)) {
      // app.use() middleware is registered as ALL; route-level handlers carry the route's method.
      if (!STATE_CHANGING.has(r.method)) continue;
      const key = `${r.method} ${r.path}`;
      if (!first.has(key)) first.set(key, typeof r.handler === "function" && AUDITED in r.handler);
    }
    const late = [...first].filter(([key, ok]) => !ok && !(key in EXEMPT)).map(([key]) => key);
    expect(late).toEqual([]);
  });
});

/** The declaration order docs/development.md gives; a route skips the steps it does not have. */
const ROUTE_STEPS = ["audited", "validate", "forbidWhileImpersonating", "requirePermission", "requireStepUp"] as const;

function stepOf(handler: unknown): string | undefined {
  if (typeof handler !== "function") return undefined;
  if (AUDITED in handler) return "audited";
  return (ROUTE_STEPS as readonly string[]).includes(handler.name) ? handler.name : undefined;
}

describe("declaration order: every /api and SCIM route reads audited → validate → forbidWhileImpersonating → requirePermission → requireStepUp → handler", () => {
  it("walks the route table and finds each route's steps in that order", () => {
    const app = createApp();
    const steps = new Map<string, string[]>();
    for (const r of routeTable(app)) {
      // app.use() middleware is registered as ALL and applies to a whole group; only route-level handlers are declared per route.
      if (r.method === "ALL") continue;
      const step = stepOf(r.handler);
      if (!step) continue;
      const key = `${r.method} ${r.path}`;
      steps.set(key, [...(steps.get(key) ?? []), step]);
    }
    // Every step is found by its name somewhere, so a renamed middleware cannot drop out of the walk unnoticed.
    expect(new Set([...steps.values()].flat())).toEqual(new Set(ROUTE_STEPS));
    const rank = (step: string) => ROUTE_STEPS.indexOf(step as (typeof ROUTE_STEPS)[number]);
    const outOfOrder = [...steps]
      .filter(([, found]) => found.some((step, i) => i > 0 && rank(step) < rank(found[i - 1] ?? step)))
      .map(([key, found]) => `${key}: ${found.join(" → ")}`);
    expect(outOfOrder).toEqual([]);
  });
});
