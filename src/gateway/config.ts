/**
 * Gateway mode's settings, read from the worker's env once per isolate (re-read only when
 * a value changes). Anything missing or malformed throws GatewayConfigError listing every
 * problem; the caller answers 503, so a misconfigured gateway never forwards a request.
 * The signing keys are separate (assertion-keys.ts): they are a secret with their own cache.
 */
import { object, optional, string } from "zod";
import { originProblem } from "../lib/origin";
import type { ProductStepUpPolicy } from "../stepup/policy";
import { type PublicPathMatcher, PublicPathsError, parsePublicPaths } from "./public-paths";
import { type StepUpRouteMatcher, StepUpRoutesError, parseStepUpRoutes } from "./step-up-routes";

/** The env values gateway mode reads (to be added to Bindings when wired). */
export type GatewayEnv = {
  /** Service binding to the product (preferred), or… */
  ORIGIN?: Fetcher;
  /** …the product's origin URL, e.g. "https://origin.acme.internal". */
  ORIGIN_URL?: string;
  ASSERTION_AUDIENCE?: string;
  ASSERTION_ISSUER?: string;
  PUBLIC_PATHS?: string;
  /** Product routes that need a step-up, a JSON array (step-up-routes.ts). */
  STEP_UP_ROUTES?: string;
};

export type GatewayConfig = {
  originUrl: string | null;
  audience: string;
  issuer: string;
  publicPaths: PublicPathMatcher;
  stepUpRoutes: StepUpRouteMatcher;
};

export const DEFAULT_ASSERTION_ISSUER = "gatehouse";

export class GatewayConfigError extends Error {
  readonly code = "GATEWAY_MISCONFIGURED";
  constructor(readonly problems: string[]) {
    super(`Gateway configuration is invalid: ${problems.join("; ")}`);
    this.name = "GatewayConfigError";
  }
}

const originUrl = string().superRefine((text, ctx) => {
  const problem = originProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const schema = object({
  ORIGIN_URL: optional(originUrl),
  ASSERTION_AUDIENCE: string({ error: "is not set" }).trim().min(1, "is empty").max(200, "is over 200 characters"),
  ASSERTION_ISSUER: optional(string().trim().min(1, "is empty").max(200, "is over 200 characters")),
});

let cached: { key: string; config: GatewayConfig } | null = null;

/**
 * The parsed settings; throws GatewayConfigError listing every problem. `productPurposes`
 * are the declared product step-up purposes (PRODUCT_STEP_UP_PURPOSES, parsed by the caller):
 * every STEP_UP_ROUTES entry must name one of them.
 */
export function gatewayConfig(env: GatewayEnv, productPurposes: readonly ProductStepUpPolicy[] = []): GatewayConfig {
  const key = JSON.stringify([env.ORIGIN_URL, env.ASSERTION_AUDIENCE, env.ASSERTION_ISSUER, env.PUBLIC_PATHS, env.ORIGIN !== undefined, env.STEP_UP_ROUTES, productPurposes.map((p) => p.name)]);
  if (cached && cached.key === key) return cached.config;
  const problems: string[] = [];
  const parsed = schema.safeParse({ ORIGIN_URL: env.ORIGIN_URL, ASSERTION_AUDIENCE: env.ASSERTION_AUDIENCE, ASSERTION_ISSUER: env.ASSERTION_ISSUER });
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  if (env.ORIGIN === undefined && env.ORIGIN_URL === undefined) problems.push("neither the ORIGIN service binding nor ORIGIN_URL is set");
  let publicPaths: PublicPathMatcher | null = null;
  try {
    publicPaths = parsePublicPaths(env.PUBLIC_PATHS);
  } catch (error) {
    if (!(error instanceof PublicPathsError)) throw error;
    problems.push(...error.problems.map((p) => `PUBLIC_PATHS ${p}`));
  }
  let stepUpRoutes: StepUpRouteMatcher | null = null;
  try {
    stepUpRoutes = parseStepUpRoutes(env.STEP_UP_ROUTES, productPurposes);
  } catch (error) {
    if (!(error instanceof StepUpRoutesError)) throw error;
    problems.push(...error.problems.map((p) => `STEP_UP_ROUTES ${p}`));
  }
  if (problems.length > 0 || !parsed.success || publicPaths === null || stepUpRoutes === null) throw new GatewayConfigError(problems);
  const config: GatewayConfig = {
    originUrl: parsed.data.ORIGIN_URL ?? null,
    audience: parsed.data.ASSERTION_AUDIENCE,
    issuer: parsed.data.ASSERTION_ISSUER ?? DEFAULT_ASSERTION_ISSUER,
    publicPaths,
    stepUpRoutes,
  };
  cached = { key, config };
  return config;
}
