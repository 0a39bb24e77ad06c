/**
 * The API document: OpenAPI 3.1, generated from the app's route table (hono-openapi's walk),
 * never written by hand. What each operation says comes from the handlers it passes
 * (src/openapi/notes.ts): its request body and parameters from the zod schemas its
 * validate() steps check, its credential, step-up purpose, permission and role from its
 * middleware, and its error responses from the codes that middleware and the route declare,
 * with their statuses and meanings from the one catalogue (src/error-catalogue.ts).
 *
 * Its paths are relative to the Gatehouse path, so it is the same for every deployment:
 * generated once, committed as ui/public/api/openapi.json (test/openapi-document.test.ts fails
 * while they differ; `npx vitest run test/openapi-document.test.ts -u` rewrites it), and served
 * from there with the deployment's path as its server (src/openapi/routes.ts). Generating it
 * takes a few hundred milliseconds of CPU, more than a request may spend. docs/api.md explains it.
 */
import type { Hono } from "hono";
import { type DescribeRouteOptions, type HandlerUniqueProperty, generateSpecs, uniqueSymbol } from "hono-openapi";
import { findTargetHandler } from "hono/utils/handler";
import type { JSONSchema7 } from "json-schema";
import type { OpenAPIV3_1 } from "openapi-types";
import { type ZodType, toJSONSchema } from "zod";
import type { AppEnv } from "../env";
import { ERROR_CATALOGUE, type ErrorCode, statusesOf } from "../error-catalogue";
import { SESSION_COOKIE } from "../sessions/token";
import { ERRORS_EXTENSION, NOTE, type Note, PERMISSION_EXTENSION, ROLE_EXTENSION, STEP_UP_EXTENSION } from "./notes";

export type ApiDocument = OpenAPIV3_1.Document;
type Operation = OpenAPIV3_1.OperationObject & Record<string, unknown>;

/** hono-openapi's placeholder 400 on an operation with a validator: replaced by VALIDATION_FAILED in the error responses. */
const VALIDATED = "validated against its zod schema";

const ERROR_BODY: OpenAPIV3_1.SchemaObject = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: { type: "string", enum: Object.keys(ERROR_CATALOGUE), description: "The code (docs/errors.md)" },
    message: { type: "string", description: "What went wrong, for a person" },
  },
  description: "Every refusal of the API: the code, a message, and the extra fields some codes name",
};

/** RFC 7644 §3.12: the SCIM service answers its refusals in SCIM's shape (src/scim/protocol.ts). */
const SCIM_ERROR_BODY: OpenAPIV3_1.SchemaObject = {
  type: "object",
  required: ["schemas", "status", "detail"],
  properties: {
    schemas: { type: "array", items: { type: "string" } },
    status: { type: "string" },
    scimType: { type: "string" },
    detail: { type: "string" },
  },
};

const SECURITY_SCHEMES: Record<string, OpenAPIV3_1.SecuritySchemeObject> = {
  session: { type: "apiKey", in: "cookie", name: `__Host-${SESSION_COOKIE}`, description: "The session cookie a sign-in sets" },
  operatorToken: { type: "http", scheme: "bearer", description: "OPERATOR_TOKEN; without it an operator path answers as an unknown one" },
  productToken: { type: "http", scheme: "bearer", description: "One of PRODUCT_API_TOKENS, with the user's Gatehouse-Jwt-Assertion header; never from a browser" },
  scimToken: { type: "http", scheme: "bearer", description: "The tenant's SCIM token (an owner creates it)" },
};

/** The operation's tag: its feature, from its path under the Gatehouse path (`security/sessions`, `users`, `scim`). */
function tagOf(path: string): string {
  const [first = "", second = "", third = ""] = path.split("/").filter(Boolean);
  if (first === "api") return second === "security" ? `security/${third}` : second;
  if (first === "scim") return "scim";
  return "pages and keys";
}

/** `patchUsersByIdRole`: the method and the path under the Gatehouse path (the merged one names the group middleware's route). */
function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((segment) => segment && segment !== "api")
    .map((segment) => (segment.startsWith("{") ? `By${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method + words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join("");
}

/** A list the merge added up, each value once: one value as itself. */
function collapse(values: unknown): string | string[] | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const unique = [...new Set(values.map(String))];
  return unique.length === 1 ? unique[0] : unique;
}

/** The error responses of `codes`, one per status, each naming its codes. */
function errorResponses(codes: readonly ErrorCode[], scim: boolean): Record<string, OpenAPIV3_1.ResponseObject> {
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of codes) for (const status of statusesOf(code)) byStatus.set(String(status), [...(byStatus.get(String(status)) ?? []), code]);
  const responses: Record<string, OpenAPIV3_1.ResponseObject> = {};
  for (const [status, listed] of [...byStatus].sort(([a], [b]) => a.localeCompare(b))) {
    const schema: OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject = scim
      ? { $ref: "#/components/schemas/ScimError" }
      : { allOf: [{ $ref: "#/components/schemas/Error" }, { type: "object", properties: { error: { type: "string", enum: listed } } }] };
    responses[status] = {
      description: listed.map((code) => `${code}: ${ERROR_CATALOGUE[code].message}`).join("\n"),
      content: { [scim ? "application/scim+json" : "application/json"]: { schema } },
    };
  }
  return responses;
}

/** One operation as the walk merged it, finished: its codes as error responses, its extensions as values, its tag and credential. */
function finish(operation: Operation, method: string, path: string): Operation {
  const responses = { ...(operation.responses as Record<string, OpenAPIV3_1.ResponseObject>) };
  const codes = new Set((operation[ERRORS_EXTENSION] as ErrorCode[] | undefined) ?? []);
  if (responses["400"]?.description === VALIDATED) {
    delete responses["400"];
    codes.add("VALIDATION_FAILED");
    if (operation.requestBody && "content" in operation.requestBody && operation.requestBody.content["application/json"]) codes.add("MALFORMED_JSON");
  }
  // hono-openapi's stand-in when a route declares none: the success answer is the route's own.
  if (responses["200"] && Object.keys(responses["200"]).length === 0) delete responses["200"];
  if (!Object.keys(responses).some((status) => status.startsWith("2"))) responses["2XX"] = { description: "Done: the answer of the route (its fields are not described yet)" };

  const errors = [...codes].sort();
  const finished: Operation = {
    ...operation,
    operationId: operationIdOf(method, path),
    tags: [tagOf(path)],
    // No credential: the operation answers anyone (sign-in, the public keys, this document).
    security: [...new Set((operation.security ?? []).map((requirement) => JSON.stringify(requirement)))].map((json) => JSON.parse(json)),
    responses: { ...responses, ...errorResponses(errors, tagOf(path) === "scim") },
    [ERRORS_EXTENSION]: errors,
  };
  for (const extension of [STEP_UP_EXTENSION, PERMISSION_EXTENSION, ROLE_EXTENSION]) {
    const value = collapse(operation[extension]);
    if (value === undefined) delete finished[extension];
    else finished[extension] = value;
  }
  return finished;
}

/**
 * The JSON Schema (2020-12, OpenAPI 3.1's) of what `schema` accepts, by zod's own converter
 * (hono-openapi's resolver would import all of zod's core, its locales included).
 */
function inputSchemaOf(schema: ZodType): JSONSchema7 {
  const { $schema: _dialect, ...converted } = toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return converted as JSONSchema7;
}

/** hono-openapi's marker for a note (./notes.ts). */
function markerOf(note: Note): { spec: DescribeRouteOptions } | HandlerUniqueProperty {
  if ("spec" in note) return { spec: note.spec as DescribeRouteOptions };
  const { target, schema } = note.input;
  return {
    target,
    vendor: "zod",
    validate: schema["~standard"].validate,
    toJSONSchema: () => inputSchemaOf(schema),
    toOpenAPISchema: async () => ({ schema: inputSchemaOf(schema) as OpenAPIV3_1.SchemaObject, components: undefined }),
  };
}

/** Puts hono-openapi's marker beside each handler's note, where its walk looks for it. */
function markNotes(app: Hono<AppEnv>): void {
  for (const route of app.routes) {
    const handler = findTargetHandler(route.handler) as unknown as Record<symbol, unknown>;
    const note = handler[NOTE] as Note | undefined;
    if (note && !(uniqueSymbol in handler)) handler[uniqueSymbol] = markerOf(note);
  }
}

/** The document of `app`, whose own routes live under `base`: its paths relative to `base`. */
export async function generateApiDocument(app: Hono<AppEnv>, base: string): Promise<ApiDocument> {
  markNotes(app);
  const generated = await generateSpecs(app, {
    documentation: {
      info: {
        title: "Gatehouse API",
        version: "1",
        description: "Gatehouse's own API: sign-in, sessions, step-up, the team, the tenant's policy, audit, SCIM. Generated from the routes and their zod schemas; docs/api.md explains the x-gatehouse extensions.",
        license: { name: "MIT", identifier: "MIT" },
      },
      components: { securitySchemes: SECURITY_SCHEMES, schemas: { Error: ERROR_BODY, ScimError: SCIM_ERROR_BODY } },
    },
    // Every route, described or not: the document lists all the app serves (its catch-alls aside).
    includeEmptyPaths: true,
    excludeStaticFile: false,
    defaultValidationErrorResponse: { description: VALIDATED },
  });
  const paths: OpenAPIV3_1.PathsObject = {};
  for (const [path, item] of Object.entries(generated.paths)) {
    if (!path.startsWith(base)) throw new Error(`The route ${path} is outside the Gatehouse path ${base}`);
    const relative = path.slice(base.length) || "/";
    const finished: Record<string, Operation> = {};
    for (const [method, operation] of Object.entries(item ?? {})) finished[method] = finish(operation as Operation, method, relative);
    paths[relative] = finished;
  }
  const tags = [...new Set(Object.values(paths).flatMap((item) => Object.values(item ?? {}).flatMap((op) => (op as Operation).tags ?? [])))].sort();
  return { ...generated, tags: tags.map((name) => ({ name })), paths } as ApiDocument;
}
