import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";

/**
 * The tenants' Durable Objects (src/tenant-object/) write what they are told on an alarm, at
 * most once a second of real time. A test waits for that state instead of for time: after
 * every harness request (test/helpers.ts), the pending alarm of every object told something
 * since runs at once (the test KV does not enforce KV's write limit).
 */
const ORIGINAL = Symbol.for("gatehouse.test.tenantObjects");
const REACHED = Symbol.for("gatehouse.test.tenantObjectsReached");
/** The names of the objects reached since the last settle (on the global: the setup file and the tests may hold two copies of this module). */
const shared = globalThis as { [REACHED]?: Set<string> };
const reached = (shared[REACHED] ??= new Set<string>());

/** Once per file (test/apply-migrations.ts): the names objects are reached by are noted. */
export function noteTenantObjects(): void {
  // Names an earlier file reached after its last request (reading its audit chains, say) are
  // that file's objects: an alarm run on one of them throws, since src/index.ts was evaluated
  // afresh for this file.
  reached.clear();
  // The files of a vitest worker share its env: wrap the namespace itself, not the last file's wrapper.
  const holder = globalThis as { [ORIGINAL]?: typeof env.TENANT };
  const namespace = (holder[ORIGINAL] ??= env.TENANT);
  env.TENANT = new Proxy(namespace, {
    get(target, prop) {
      if (prop === "idFromName") {
        return (name: string) => {
          reached.add(name);
          return target.idFromName(name);
        };
      }
      const value = Reflect.get(target, prop, target);
      // The test helpers recognise a namespace by its constructor's name: left unbound.
      return typeof value === "function" && prop !== "constructor" ? value.bind(target) : value;
    },
  });
}

export async function settleTenantObjects(): Promise<void> {
  const names = [...reached];
  reached.clear();
  for (const name of names) await runDurableObjectAlarm(env.TENANT.get(env.TENANT.idFromName(name)));
  reached.clear();
}

