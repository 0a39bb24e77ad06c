import { Validator } from "@seriousme/openapi-schema-validator";
import type { Hono } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { DEFAULT_GATEHOUSE_PATH } from "../src/config";
import type { AppEnv } from "../src/env";
import { ERROR_CATALOGUE } from "../src/error-catalogue";
import { type ApiDocument, generateApiDocument } from "../src/openapi/document";
import { ERRORS_EXTENSION, NOTE, PERMISSION_EXTENSION, ROLE_EXTENSION, STEP_UP_EXTENSION } from "../src/openapi/notes";
import { STEP_UP_PURPOSE } from "../src/stepup/middleware";

// A unit test (plain Node, vitest.config.ts's UNIT_TESTS): the validator reads its schemas from disk,
// and the generated document is compared with the one the Worker serves (ui/public/api/openapi.json).

type Operation = Record<string, unknown> & { responses: Record<string, { content?: Record<string, { schema: { allOf?: { properties?: { error?: { enum?: string[] } } }[] } }> }> };
type Route = { method: string; path: string; handler: unknown };

const app = createApp() as unknown as Hono<AppEnv>;
let generated: Promise<ApiDocument> | undefined;
const document = () => (generated ??= generateApiDocument(app, DEFAULT_GATEHOUSE_PATH));
/** The document's path of a route: under the Gatehouse path, its parameters in braces. */
const openApiPath = (path: string) => (path.slice(DEFAULT_GATEHOUSE_PATH.length) || "/").replace(/:([A-Za-z]+)/g, "{$1}");
const operationOf = async (route: Route) => (await document()).paths?.[openApiPath(route.path)]?.[route.method.toLowerCase() as "get"] as Operation | undefined;

/** `METHOD path` of each route a request can name: not the groups' middleware (ALL), not the catch-alls. */
const routes = (): Route[] => {
  const seen = new Map<string, Route>();
  for (const r of app.routes) if (r.method !== "ALL" && !r.path.includes("*")) seen.set(`${r.method} ${r.path}`, r);
  return [...seen.values()];
};

/** The handlers a request to `route` passes, in order: the groups' middleware declared before it under its path, then its own. */
function handlersOf(route: Route): unknown[] {
  const own = (r: Route) => r.method === route.method && r.path === route.path;
  let last = 0;
  app.routes.forEach((r, i) => {
    if (own(r)) last = i;
  });
  const handlers: unknown[] = [];
  for (const r of app.routes.slice(0, last + 1)) {
    const prefix = r.path.replace(/\/?\*$/, "");
    const groupOf = r.method === "ALL" && (route.path === prefix || route.path.startsWith(`${prefix}/`));
    if (groupOf || own(r)) handlers.push(findTargetHandler(r.handler));
  }
  return handlers;
}

/** What the middleware a route passes declares itself: requireStepUp's purpose, requirePermission's permission, requireRole's role. */
function declared(route: Route) {
  const purposes: string[] = [];
  const permissions: string[] = [];
  const roles: string[] = [];
  for (const handler of handlersOf(route)) {
    if (typeof handler !== "function") continue;
    if (STEP_UP_PURPOSE in handler) purposes.push((handler as { [STEP_UP_PURPOSE]: string | null })[STEP_UP_PURPOSE] ?? "decided per request");
    const spec = (handler as { [NOTE]?: { spec?: Record<string, string[]> } })[NOTE]?.spec;
    if (handler.name === "requirePermission") permissions.push(...(spec?.[PERMISSION_EXTENSION] ?? ["(not noted)"]));
    if (handler.name === "requireRole") roles.push(...(spec?.[ROLE_EXTENSION] ?? ["(not noted)"]));
  }
  const one = (values: string[]) => (values.length === 0 ? undefined : [...new Set(values)].length === 1 ? values[0] : [...new Set(values)]);
  return { [STEP_UP_EXTENSION]: one(purposes), [PERMISSION_EXTENSION]: one(permissions), [ROLE_EXTENSION]: one(roles) };
}

describe("the API document is generated from the routes the app mounts", () => {
  it("is a valid OpenAPI 3.1 document, by a standard validator", async () => {
    const result = await new Validator().validate(structuredClone(await document()) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((await document()).openapi).toMatch(/^3\.1\./);
  });

  it("is the document the Worker serves (ui/public/api/openapi.json; `npx vitest run test/openapi-document.test.ts -u` rewrites it)", async () => {
    await expect(`${JSON.stringify(await document(), null, 2)}\n`).toMatchFileSnapshot("../ui/public/api/openapi.json");
  });

  it("names every route the app mounts, with its method, and nothing it does not mount", async () => {
    const mounted = routes();
    expect(mounted.length).toBeGreaterThan(60);
    const missing = [];
    for (const route of mounted) if (!(await operationOf(route))) missing.push(`${route.method} ${route.path}`);
    expect(missing).toEqual([]);
    const documented = Object.entries((await document()).paths ?? {}).flatMap(([path, item]) => Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(mounted.map((r) => `${r.method} ${openApiPath(r.path)}`).sort());
  });

  it("gives each operation the step-up purpose, permission and role its route's middleware declares, and no other", async () => {
    const wrong = [];
    let guarded = 0;
    for (const route of routes()) {
      const operation = await operationOf(route);
      const expected = declared(route);
      if (expected[STEP_UP_EXTENSION]) guarded++;
      for (const [extension, value] of Object.entries(expected)) {
        if (JSON.stringify(operation?.[extension]) !== JSON.stringify(value)) wrong.push(`${route.method} ${route.path} ${extension}: ${JSON.stringify(operation?.[extension])}, declared ${JSON.stringify(value)}`);
      }
    }
    expect(guarded).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });

  it("answers STEP_UP_REQUIRED (428) on every operation that asks for a step-up, and on no other but the product's own step-up", async () => {
    // The product's server asks whether the user has a grant for one of the product's purposes: its 428 is the answer it asked for.
    const productStepUp = `POST ${DEFAULT_GATEHOUSE_PATH}/api/product/step-up`;
    const wrong = [];
    for (const route of routes()) {
      const operation = await operationOf(route);
      const asksForStepUp = declared(route)[STEP_UP_EXTENSION] !== undefined || `${route.method} ${route.path}` === productStepUp;
      const answers428 = operation?.responses["428"]?.content?.["application/json"]?.schema.allOf?.[1]?.properties?.error?.enum?.includes("STEP_UP_REQUIRED") === true;
      if (asksForStepUp !== answers428) wrong.push(`${route.method} ${route.path}`);
    }
    expect(wrong).toEqual([]);
  });

  it("names only error codes of the catalogue, each under a status the catalogue gives it", async () => {
    const unknown = [];
    for (const [path, item] of Object.entries((await document()).paths ?? {})) {
      for (const [method, operation] of Object.entries(item ?? {}) as [string, Operation][]) {
        const listed = operation[ERRORS_EXTENSION] as string[];
        expect(listed.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const code of listed) if (!(code in ERROR_CATALOGUE)) unknown.push(`${method} ${path}: ${code}`);
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const code of response.content?.["application/json"]?.schema.allOf?.[1]?.properties?.error?.enum ?? []) {
            const statuses = [ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE]?.status].flat().map(String);
            if (!statuses.includes(status)) unknown.push(`${method} ${path}: ${code} under ${status}`);
          }
        }
      }
    }
    expect(unknown).toEqual([]);
  });
});
