// Public surface of the IP rules feature (being built in this folder).
import type { Context } from "hono";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** Mounted at /api/security/ip-rules, behind requireSession. */
export const ipRuleRoutes = new Hono<AppEnv>();

/** Runs right after requireSession on every authenticated request. */
export const enforceIpRules = () =>
  createMiddleware<AppEnv>(async function enforceIpRules(_c, next) {
    await next();
  });

/** Called by sign-in once the user (so the tenant) is known and the password checked. */
export async function assertIpAllowed(_c: Context<AppEnv>, _tenantId: string, _userId: string): Promise<void> {}
