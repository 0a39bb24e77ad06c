/**
 * Deployment configuration (wrangler vars), validated once per isolate at startup
 * (src/index.ts reads it before the first request). A bad value is a clear error
 * naming the variable, never a surprise hours later on some code path.
 */
import { string } from "zod";
import { type GatewayConfig, GatewayConfigError, type GatewayEnv, gatewayConfig } from "./gateway/config";

/** Where everything Gatehouse serves lives on the host: API, panel, JWKS. The rest belongs to the product. */
export const DEFAULT_GATEHOUSE_PATH = "/_gatehouse";

// One or more lower-case segments, no trailing slash: it is also written into the
// panel's <base href>, so nothing in it may need escaping.
const gatehousePath = string()
  .regex(/^(\/[a-z0-9_-]+)+$/, "must look like /_gatehouse: one or more /segments of a-z, 0-9, _ or -, no trailing slash")
  .optional()
  .transform((v) => v ?? DEFAULT_GATEHOUSE_PATH);

export type GatehouseConfig = {
  gatehousePath: string;
  /** Gateway mode's settings; null when no origin is configured (a standalone Gatehouse). */
  gateway: GatewayConfig | null;
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function parseConfig(env: GatewayEnv & { GATEHOUSE_PATH?: string | undefined }): GatehouseConfig {
  const path = gatehousePath.safeParse(env.GATEHOUSE_PATH === "" ? undefined : env.GATEHOUSE_PATH);
  if (!path.success) throw new ConfigError(`GATEHOUSE_PATH ${path.error.issues.map((i) => i.message).join("; ")} (got ${JSON.stringify(env.GATEHOUSE_PATH)})`);
  let gateway: GatewayConfig | null = null;
  if (env.ORIGIN !== undefined || env.ORIGIN_URL !== undefined) {
    try {
      gateway = gatewayConfig(env);
    } catch (err) {
      if (err instanceof GatewayConfigError) throw new ConfigError(`Gateway mode: ${err.problems.join("; ")}`);
      throw err;
    }
  }
  return { gatehousePath: path.data, gateway };
}
