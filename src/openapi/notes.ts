/**
 * What a middleware or a route adds to the API document (src/openapi/document.ts), declared
 * where the middleware is defined or the route is declared, never in a list of its own:
 *
 *   - the error codes it can answer (`errors`, codes of src/error-catalogue.ts),
 *   - the document's `x-gatehouse-*` extensions (the step-up purpose, the permission),
 *   - the credential it takes (`security`, a scheme the document declares).
 *
 * A note is plain data riding on the middleware under NOTE. The generator
 * (src/openapi/document.ts, run by the tests, never by the Worker) turns each into
 * hono-openapi's marker (its `describeRoute` shape) before hono-openapi's walk of the route
 * table merges the notes of every handler a route passes: group middleware (app.use) for
 * the routes declared after it under its path, and each route's own. Arrays add up; the
 * document turns the codes into the error responses. Nothing here imports hono-openapi or
 * zod's JSON Schema converter, so neither is in the Worker's bundle.
 */
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { createMiddleware } from "hono/factory";
import type { ZodType } from "zod";
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

/** Where a note rides on its middleware (a registered symbol: only the generator reads it). */
export const NOTE = Symbol.for("gatehouse.openapi.note");

/** A note as it rides: the operation's fields (`spec`: extensions, codes, security), or the input a validator checks. */
export type Note = { spec: Record<string, unknown> } | { input: { target: keyof ValidationTargets; schema: ZodType } };

type Noted = { [NOTE]: Note };

/** `middleware`, carrying `note` for the API document. */
export function noted<M extends object>(middleware: M, note: OperationNote): M & Noted {
  const spec: Record<string, unknown> = { ...note.extensions };
  if (note.errors?.length) spec[ERRORS_EXTENSION] = [...note.errors];
  if (note.security) spec.security = [{ [note.security]: [] }];
  return Object.assign(middleware, { [NOTE]: { spec } });
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

/** A validator middleware, carrying its zod schema for the document (the request body, the path or query parameters), converted when the document is made. */
export function describesInput<M extends object>(middleware: M, target: keyof ValidationTargets, schema: ZodType): M {
  return Object.assign(middleware, { [NOTE]: { input: { target, schema } } });
}
