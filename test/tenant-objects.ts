import { listDurableObjectIds, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";

/**
 * The tenants' Durable Objects (src/tenant-object/) write what they are told on an alarm, at
 * most once a second of real time. A test waits for that state instead of for time: after
 * every harness request (test/helpers.ts), the pending alarm of every object this file has
 * reached runs at once (the test KV does not enforce KV's write limit). The objects of
 * earlier files (the files of a vitest worker share its workerd) belong to their modules,
 * evaluated afresh for this file: they are left alone.
 */
const earlierFiles = listDurableObjectIds(env.TENANT).then((ids) => new Set(ids.map(String)));

export async function settleTenantObjects(): Promise<void> {
  const skip = await earlierFiles;
  for (const id of await listDurableObjectIds(env.TENANT)) if (!skip.has(String(id))) await runDurableObjectAlarm(env.TENANT.get(id));
}
