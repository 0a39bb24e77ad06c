/**
 * Which product paths need no session (`PUBLIC_PATHS`): the landing page, pricing,
 * static assets. Everything else goes through the edge check, so a mistake here should
 * err towards "protected": a path that does not normalise cleanly is never public.
 *
 * Patterns (a JSON array string, or a comma-separated list):
 *   /pricing     exactly that path
 *   /blog/*.html `*` matches any characters within one segment (never a "/")
 *   /assets/*    a trailing `/*` is the whole subtree: /assets/, /assets/a, /assets/a/b
 */
import { array, string } from "zod";

export const MAX_PUBLIC_PATTERNS = 100;

export class PublicPathsError extends Error {
  readonly code = "INVALID_PUBLIC_PATHS";
  constructor(readonly problems: string[]) {
    super(`PUBLIC_PATHS is invalid: ${problems.join("; ")}`);
    this.name = "PublicPathsError";
  }
}

// RFC 3986 pchar minus "%" (patterns are matched against decoded paths), plus "*".
const PATTERN_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@*]+$/;

const patternSchema = string()
  .max(512, "is over 512 characters")
  .refine((p) => p.startsWith("/"), "must start with /")
  .refine((p) => p === "/" || p.slice(1).split("/").every((segment, i, all) => PATTERN_SEGMENT.test(segment) || (i === all.length - 1 && segment === "")), "has an empty segment or a character outside A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) + , ; = : @ *")
  .refine((p) => !p.split("/").some((segment) => segment === "." || segment === ".."), "has a . or .. segment")
  .refine((p) => !p.includes("**"), "uses **: write a trailing /* for a subtree");

/** One path pattern, validated as PUBLIC_PATHS validates each of its entries (also STEP_UP_ROUTES'). */
export const pathPatternSchema = patternSchema;

const listSchema = array(patternSchema).max(MAX_PUBLIC_PATTERNS, `more than ${MAX_PUBLIC_PATTERNS} patterns`);

type CompiledPattern = { segments: RegExp[]; subtree: boolean };

function compile(pattern: string): CompiledPattern {
  const subtree = pattern.endsWith("/*");
  const body = subtree ? pattern.slice(0, -2) : pattern;
  const parts = body === "" || body === "/" ? [] : body.slice(1).split("/");
  // A decoded segment never holds "/" (normalisedSegments refuses %2F), so ".*" stays in it.
  const segments = parts.map((part) => new RegExp(`^${part.split("*").map(escapeRegExp).join(".*")}$`));
  return { segments, subtree };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The decoded segments of a URL pathname, or null when it does not normalise cleanly:
 * undecodable escapes, dot segments (also encoded, or with ";params"), empty segments,
 * encoded separators or controls. Null means "not public".
 */
export function normalisedSegments(pathname: string): string[] | null {
  if (!pathname.startsWith("/")) return null;
  if (pathname === "/") return [];
  const raw = pathname.slice(1).split("/");
  const segments: string[] = [];
  for (const [index, part] of raw.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return null;
    }
    const isLast = index === raw.length - 1;
    if (segment === "" && !isLast) return null; // "//"
    if (/[/\\\x00-\x1f\x7f]/.test(segment)) return null; // %2F, %5C, controls
    const beforeParams = segment.split(";", 1)[0];
    if (beforeParams === "." || beforeParams === "..") return null; // also %2e%2e and "..;"
    segments.push(segment);
  }
  return segments;
}

function matches(pattern: CompiledPattern, segments: string[]): boolean {
  const { segments: expected, subtree } = pattern;
  if (subtree) {
    // "/assets/*": "/assets/" and anything below, never "/assets" itself.
    if (segments.length <= expected.length) return false;
  } else if (segments.length !== expected.length) return false;
  return expected.every((re, i) => re.test(segments[i] ?? ""));
}

/**
 * One validated pattern as a predicate on the normalised segments of a path
 * (`normalisedSegments`); shared with STEP_UP_ROUTES so both read patterns alike.
 */
export function pathPatternMatcher(pattern: string): (segments: string[]) => boolean {
  const compiled = compile(pattern);
  return (segments) => matches(compiled, segments);
}

export type PublicPathMatcher = {
  readonly patterns: readonly string[];
  isPublic(pathname: string): boolean;
};

function splitList(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      throw new PublicPathsError(["not valid JSON"]);
    }
  }
  return trimmed.split(",").map((p) => p.trim());
}

/** Parses `PUBLIC_PATHS` once at startup; throws PublicPathsError listing every bad pattern. */
export function parsePublicPaths(text: string | undefined): PublicPathMatcher {
  const list = splitList(text ?? "");
  const parsed = listSchema.safeParse(list);
  if (!parsed.success) {
    const label = (path: PropertyKey[]) => (typeof path[0] === "number" && Array.isArray(list) ? `${JSON.stringify(list[path[0]])}` : "the list");
    throw new PublicPathsError(parsed.error.issues.map((issue) => `${label(issue.path)} ${issue.message}`));
  }
  const compiled = parsed.data.map(compile);
  return {
    patterns: parsed.data,
    isPublic(pathname: string): boolean {
      const segments = normalisedSegments(pathname);
      if (segments === null) return false;
      return compiled.some((pattern) => matches(pattern, segments));
    },
  };
}
