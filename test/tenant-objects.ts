import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

/**
 * The tenants' Durable Objects (src/tenant-object/) write what they are told on an alarm, at
 * most once a second of real time. A test waits for that state instead of for time: after
 * every harness request (test/helpers.ts), the pending alarm of every object told something
 * since runs at once (the test KV does not enforce KV's write limit). An alarm due at once may
 * also have been fired by workerd itself, just before: the settle then waits for that
 * write to be stored (what src/tenant-object/edge-writer.ts keeps says whether one is under
 * way) instead of going on while its put is still to come.
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
  for (const name of names) {
    const stub = env.TENANT.get(env.TENANT.idFromName(name));
    if (!(await runDurableObjectAlarm(stub))) await writeUnderWay(stub);
  }
  reached.clear();
}

type EdgeProgress = { requested: number; written: number };

/** Returns once no write of the object's edge writer is under way (its alarm fired by workerd itself). */
async function writeUnderWay(stub: DurableObjectStub): Promise<void> {
  for (let checks = 0; ; checks++) {
    const { edge, alarm } = await runInDurableObject(stub, async (_instance, state) => ({
      edge: await state.storage.get<EdgeProgress>("edge"),
      alarm: await state.storage.getAlarm(),
    }));
    // Nothing owed, or owed with its alarm set (a retry after a failure, or a change told since): settled as far as this settle goes.
    if (!edge || edge.written >= edge.requested || alarm !== null) return;
    if (checks === 10_000) throw new Error("a tenant object's edge write never finished");
    await scheduler.wait(1);
  }
}
