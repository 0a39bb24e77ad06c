/**
 * Deployment configuration (wrangler vars), validated once per isolate at startup
 * (src/index.ts reads it before the first request). A bad value is a clear error
 * naming the variable, never a surprise hours later on some code path.
 */
import { string } from "zod";

/** Where everything Gatehouse serves lives on the host: API, panel, JWKS. The rest belongs to the product. */
export const DEFAULT_GATEHOUSE_PATH = "/_gatehouse";

// One or more lower-case segments, no trailing slash: it is also written into the
// panel's <base href>, so nothing in it may need escaping.
const gatehousePath = string()
  .regex(/^(\/[a-z0-9_-]+)+$/, "must look like /_gatehouse: one or more /segments of a-z, 0-9, _ or -, no trailing slash")
  .optional()
  .transform((v) => v ?? DEFAULT_GATEHOUSE_PATH);

export type GatehouseConfig = { gatehousePath: string };

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function parseConfig(env: { GATEHOUSE_PATH?: string | undefined }): GatehouseConfig {
  const path = gatehousePath.safeParse(env.GATEHOUSE_PATH === "" ? undefined : env.GATEHOUSE_PATH);
  if (!path.success) throw new ConfigError(`GATEHOUSE_PATH ${path.error.issues.map((i) => i.message).join("; ")} (got ${JSON.stringify(env.GATEHOUSE_PATH)})`);
  return { gatehousePath: path.data };
}
