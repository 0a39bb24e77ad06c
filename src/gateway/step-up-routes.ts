/**
 * Which product requests need a fresh step-up (`STEP_UP_ROUTES`), e.g.
 *   [{"method":"DELETE","path":"/api/notes/*","purpose":"NOTE_DELETE"}]
 * Each entry names an HTTP method (or "*" for any), a path pattern written as in
 * PUBLIC_PATHS (`*` within one segment, a trailing `/*` for a subtree) and a purpose the
 * product declared in PRODUCT_STEP_UP_PURPOSES: an undeclared purpose stops the Worker at
 * startup (src/config.ts), never a route that silently asks for nothing.
 *
 * For public paths "no match" is the safe answer; here it is the unsafe one (the request
 * is forwarded without a step-up), so a path is matched on the widest form an origin may
 * treat as the same: decoded, Unicode-compatibility folded (NFKC) and lower-cased, `;params`
 * and trailing dots or spaces of a segment dropped, and a trailing empty segment dropped
 * (`/billing/export/` is `/billing/export`; a subtree `/notes/*` covers `/notes` too).
 * Patterns are folded the same way. A path that does not normalise cleanly (`..`, `//`, an
 * encoded separator) cannot be matched safely, so for a method some route names it is
 * refused rather than forwarded without a step-up.
 */
import { array, enum as zEnum, strictObject, string } from "zod";
import { type ProductStepUpPolicy, declaredProductPurpose } from "../stepup/policy";
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
  const undeclared = parsed.data.filter((r) => !declaredProductPurpose(purposes, r.purpose));
  if (undeclared.length > 0) {
    throw new StepUpRoutesError(undeclared.map((r) => `purpose ${JSON.stringify(r.purpose)} is not declared in PRODUCT_STEP_UP_PURPOSES`));
  }
  const compiled = parsed.data.map((route) => ({ route, matches: canonicalPatternMatcher(route.path) }));
  return {
    routes: parsed.data,
    stepUpFor(method: string, pathname: string): RouteStepUp {
      const upper = method.toUpperCase();
      // HEAD runs the GET handler at most origins: a GET route guards it too.
      const candidates = compiled.filter(({ route }) => route.method === "*" || route.method === upper || (route.method === "GET" && upper === "HEAD"));
      if (candidates.length === 0) return { kind: "none" };
      const segments = canonicalSegments(pathname);
      if (segments === null) return { kind: "unmatchable" };
      const hit = candidates.find(({ matches }) => matches(segments));
      return hit ? { kind: "purpose", purpose: hit.route.purpose } : { kind: "none" };
    },
  };
}

/** One segment as an origin may read it: compatibility-folded, lower case, without `;params` or trailing dots and spaces. */
function canonicalSegment(segment: string): string {
  return (segment.split(";", 1)[0] ?? "").normalize("NFKC").toLowerCase().replace(/[. ]+$/, "");
}

/**
 * A path's segments in the canonical form step-up routes match on, or null when it does
 * not normalise cleanly, or a segment other than the last is empty once canonical
 * (`/billing/;x/export`, `/billing/./export` read through `;`).
 */
export function canonicalSegments(pathname: string): string[] | null {
  const segments = normalisedSegments(pathname);
  if (segments === null) return null;
  const canonical = segments.map(canonicalSegment);
  if (canonical.at(-1) === "") canonical.pop();
  if (canonical.some((segment) => segment === "" || segment === "." || segment === "..")) return null;
  return canonical;
}

/** A pattern folded like a path; a subtree (`/notes/*`) also covers its bare prefix (`/notes`, which `/notes/` becomes). */
function canonicalPatternMatcher(pattern: string): (segments: string[]) => boolean {
  const folded = pattern
    .split("/")
    .map((part) => (part === "*" ? part : canonicalSegment(part)))
    .join("/")
    .replace(/(.)\/$/, "$1");
  const matchers = [pathPatternMatcher(folded)];
  if (folded.endsWith("/*")) matchers.push(pathPatternMatcher(folded.slice(0, -2) || "/"));
  return (segments) => matchers.some((matches) => matches(segments));
}
