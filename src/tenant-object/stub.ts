/** The tenant's Durable Object (./object.ts), as a request reaches it. */
import type { Bindings } from "../env";

export const tenantObject = (env: Pick<Bindings, "TENANT">, tenantId: string) => env.TENANT.get(env.TENANT.idFromName(tenantId));
