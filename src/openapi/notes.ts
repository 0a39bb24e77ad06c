/**
 * What a middleware or a route adds to the API document (src/openapi/document.ts), declared
 * where the middleware is defined or the route is declared, never in a list of its own:
 *
 *   - the error codes it can answer (`errors`, codes of src/error-catalogue.ts),
 *   - the document's `x-gatehouse-*` extensions (the step-up purpose, the permission),
 *   - the credential it takes (`security`, a scheme the document declares).
 *
 * A note rides on the middleware as hono-openapi's marker (its `describeRoute` shape), so
 * hono-openapi's walk of the route table merges the notes of every handler a route passes:
 * group middleware (app.use) for the routes declared after it under its path, and each
 * route's own. Arrays add up; the document turns the codes into the error responses.
 */
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { createMiddleware } from "hono/factory";
import { type DescribeRouteOptions, type HandlerUniqueProperty, uniqueSymbol } from "hono-openapi";
import type { JSONSchema7 } from "json-schema";
import type { OpenAPIV3_1 } from "openapi-types";
import { type ZodType, toJSONSchema } from "zod";
import type { ErrorCode } from "../error-catalogue";
import type { AppEnv } from "../env";

/** The document's extensions: the route's step-up purpose, permission, role, and its error codes before they become responses. */
export const STEP_UP_EXTENSION = "x-gatehouse-step-up";
export const PERMISSION_EXTENSION = "x-gatehouse-permission";
export const ROLE_EXTENSION = "x-gatehouse-role";
export const ERRORS_EXTENSION = "x-gatehouse-errors";

/** The credentials the document declares (components.securitySchemes, src/openapi/document.ts). */
export type SecurityScheme = "session" | "operatorToken" | "productToken" | "scimToken";

export type OperationNote = {
  errors?: readonly ErrorCode[];
  extensions?: Partial<Record<typeof STEP_UP_EXTENSION | typeof PERMISSION_EXTENSION | typeof ROLE_EXTENSION, string[]>>;
  security?: SecurityScheme;
};

type Noted = { [uniqueSymbol]: { spec: DescribeRouteOptions } };

/** `middleware`, carrying `note` for the API document. */
export function noted<M extends object>(middleware: M, note: OperationNote): M & Noted {
  const spec: Record<string, unknown> = { ...note.extensions };
  if (note.errors?.length) spec[ERRORS_EXTENSION] = [...note.errors];
  if (note.security) spec.security = [{ [note.security]: [] }];
  return Object.assign(middleware, { [uniqueSymbol]: { spec: spec as DescribeRouteOptions } });
}

/**
 * A route's own error codes, those its handler (or what it calls) answers beyond its
 * middleware's: the route's last step, just before its handler. Does nothing at run time.
 */
export function answers(...errors: ErrorCode[]): MiddlewareHandler<AppEnv> {
  return noted(
    createMiddleware<AppEnv>(async function answers(_c, next) {
      await next();
    }),
    { errors },
  );
}

/**
 * The body a route's handler passes on to be validated elsewhere (the product API's to the
 * RPC's schemas), for the document: the schema that validates it. Does nothing at run time.
 */
export function describesBody(schema: ZodType): MiddlewareHandler<AppEnv> {
  return describesInput(
    createMiddleware<AppEnv>(async function describesBody(_c, next) {
      await next();
    }),
    "json",
    schema,
  );
}

/**
 * The JSON Schema (2020-12, OpenAPI 3.1's) of what `schema` accepts, by zod's own converter
 * (hono-openapi's resolver would import all of zod's core, its locales included, into the Worker).
 */
function inputSchemaOf(schema: ZodType): JSONSchema7 {
  const { $schema: _dialect, ...converted } = toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return converted as JSONSchema7;
}

/** A validator middleware, carrying its zod schema for the document (the request body, the path or query parameters), converted when the document is made. */
export function describesInput<M extends object>(middleware: M, target: keyof ValidationTargets, schema: ZodType): M {
  const described: HandlerUniqueProperty = {
    target,
    vendor: "zod",
    validate: schema["~standard"].validate,
    toJSONSchema: () => inputSchemaOf(schema),
    toOpenAPISchema: async () => ({ schema: inputSchemaOf(schema) as OpenAPIV3_1.SchemaObject, components: undefined }),
  };
  return Object.assign(middleware, { [uniqueSymbol]: described });
}
