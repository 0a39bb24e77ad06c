import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { AUDITED } from "../src/audit/middleware";
import { apiRouteTable } from "./helpers";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** State-changing routes deliberately not wrapped, each with its reason. */
const EXEMPT: Record<string, string> = {};

describe("coverage: every state-changing /api route is declared through audited()", () => {
  it("walks the route table and finds the wrapper on each one", () => {
    const app = createApp();
    const byRoute = new Map<string, boolean>();
    for (const r of apiRouteTable(app)) {
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
    for (const r of apiRouteTable(app)) {
      // app.use() middleware is registered as ALL; route-level handlers carry the route's method.
      if (!STATE_CHANGING.has(r.method)) continue;
      const key = `${r.method} ${r.path}`;
      if (!first.has(key)) first.set(key, typeof r.handler === "function" && AUDITED in r.handler);
    }
    const late = [...first].filter(([key, ok]) => !ok && !(key in EXEMPT)).map(([key]) => key);
    expect(late).toEqual([]);
  });
});
