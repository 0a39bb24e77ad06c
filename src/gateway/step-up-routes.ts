/**
 * Which product requests need a fresh step-up (`STEP_UP_ROUTES`), e.g.
 *   [{"method":"DELETE","path":"/api/notes/*","purpose":"NOTE_DELETE"}]
 * Each entry names an HTTP method (or "*" for any), a path pattern written as in
 * PUBLIC_PATHS (`*` within one segment, a trailing `/*` for a subtree) and a purpose the
 * product declared in PRODUCT_STEP_UP_PURPOSES: an undeclared purpose stops the Worker at
 * startup (src/config.ts), never a route that silently asks for nothing.
 *
 * Matching runs on the decoded, normalised path, as for public paths. A path that does not
 * normalise cleanly (`..`, `//`, an encoded separator) cannot be matched safely, so for a
 * method some route names it is refused rather than forwarded without a step-up.
 */
import { array, enum as zEnum, strictObject, string } from "zod";
import type { ProductStepUpPolicy } from "../stepup/policy";
import { normalisedSegments, pathPatternMatcher, pathPatternSchema } from "./public-paths";

export const MAX_STEP_UP_ROUTES = 100;

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "*"] as const;

const routeSchema = strictObject({
  method: zEnum(METHODS, { error: `must be one of ${METHODS.join(", ")}` }),
  path: pathPatternSchema,
  purpose: string().max(64),
});

const listSchema = array(routeSchema).max(MAX_STEP_UP_ROUTES, `more than ${MAX_STEP_UP_ROUTES} routes`);

export class StepUpRoutesError extends Error {
  readonly code = "INVALID_STEP_UP_ROUTES";
  constructor(readonly problems: string[]) {
    super(`STEP_UP_ROUTES is invalid: ${problems.join("; ")}`);
    this.name = "StepUpRoutesError";
  }
}

export type StepUpRoute = { method: (typeof METHODS)[number]; path: string; purpose: string };

/** A request's step-up: none, a purpose, or a path that cannot be matched safely. */
export type RouteStepUp = { kind: "none" } | { kind: "purpose"; purpose: string } | { kind: "unmatchable" };

export type StepUpRouteMatcher = {
  readonly routes: readonly StepUpRoute[];
  stepUpFor(method: string, pathname: string): RouteStepUp;
};

/** Parses `STEP_UP_ROUTES` once at startup against the declared product purposes; throws StepUpRoutesError listing every problem. */
export function parseStepUpRoutes(text: string | undefined, purposes: readonly ProductStepUpPolicy[]): StepUpRouteMatcher {
  let list: unknown = [];
  if (text !== undefined && text.trim() !== "") {
    try {
      list = JSON.parse(text);
    } catch {
      throw new StepUpRoutesError(["not valid JSON"]);
    }
  }
  const parsed = listSchema.safeParse(list);
  if (!parsed.success) {
    throw new StepUpRoutesError(parsed.error.issues.map((issue) => `${issue.path.length ? `[${issue.path.join(".")}] ` : ""}${issue.message}`));
  }
  const declared = new Set(purposes.map((p) => p.name));
  const undeclared = parsed.data.filter((r) => !declared.has(r.purpose));
  if (undeclared.length > 0) {
    throw new StepUpRoutesError(undeclared.map((r) => `purpose ${JSON.stringify(r.purpose)} is not declared in PRODUCT_STEP_UP_PURPOSES`));
  }
  const compiled = parsed.data.map((route) => ({ route, matches: pathPatternMatcher(route.path) }));
  return {
    routes: parsed.data,
    stepUpFor(method: string, pathname: string): RouteStepUp {
      const upper = method.toUpperCase();
      // HEAD runs the GET handler at most origins: a GET route guards it too.
      const candidates = compiled.filter(({ route }) => route.method === "*" || route.method === upper || (route.method === "GET" && upper === "HEAD"));
      if (candidates.length === 0) return { kind: "none" };
      const segments = normalisedSegments(pathname);
      if (segments === null) return { kind: "unmatchable" };
      const hit = candidates.find(({ matches }) => matches(segments));
      return hit ? { kind: "purpose", purpose: hit.route.purpose } : { kind: "none" };
    },
  };
}
