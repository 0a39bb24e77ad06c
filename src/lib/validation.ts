import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { ZodType, core } from "zod";
import { ApiError } from "../errors";
import { describesInput } from "../openapi/notes";

/** 400 VALIDATION_FAILED with the issues (path and message), the one shape of every bad input. */
export function validationFailed(target: string, zodIssues: readonly Pick<core.$ZodIssue, "path" | "message">[]): ApiError {
  const issues = zodIssues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
  return new ApiError(400, "VALIDATION_FAILED", `Invalid ${target}: ${summary}`, { details: { issues } });
}

/**
 * zValidator with the one hook every route shares: a failed parse becomes
 * 400 VALIDATION_FAILED with the issues, thrown so that the audit wrapper sees it.
 */
export function validate<T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw validationFailed(target, result.error.issues);
  });
  // zValidator's middleware is anonymous; the route-order walk (test/audit-coverage.test.ts) reads this name.
  // The schema rides on it into the API document (src/openapi/notes.ts): the document describes what is validated.
  return describesInput(Object.defineProperty(middleware, "name", { value: "validate" }), target, schema);
}
