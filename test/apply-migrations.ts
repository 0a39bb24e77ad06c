import { applyD1Migrations, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { NOBODY } from "../src/auth/sign-in-subject";
import { noteTenantObjects } from "./tenant-objects";

// Runs before each test file. The files of one vitest worker share its workerd (isolate: false
// in vitest.config.ts: starting a workerd per file cost more than the tests), so each file
// starts here from what a workerd of its own would give it: this project's modules evaluated
// afresh (no in-isolate copy or cache left by another file), the schema, no rows, an empty
// KV namespace and R2 bucket, and sign-in limiter counters of its own.

type ModuleNode = { promise?: unknown; exports?: unknown; evaluated?: boolean; importers?: Set<string> };
type WorkerState = { evaluatedModules?: { idToModuleMap?: unknown } };

/**
 * Marks src/ and test/ modules unevaluated, as vi.resetModules does to every module, so this
 * file imports them afresh. Dependencies stay evaluated: they hold none of our state (nor do
 * the few examples/ and scripts/ modules tests import), and evaluating them again for every
 * file cost a third of the run. The module graph is where
 * vitest 5 keeps it for this worker; if it is not there, or not keyed by file path, everything
 * is reset (vi.resetModules), slower but the same isolation.
 */
function freshProjectModules(): void {
  const graph = (globalThis as { __vitest_worker__?: WorkerState }).__vitest_worker__?.evaluatedModules?.idToModuleMap;
  const nodes = graph instanceof Map ? [...(graph as Map<string, ModuleNode>)] : [];
  const root = new URL("..", import.meta.url).pathname;
  // This file is in the graph while it runs: if it is not there under its path, the ids are
  // not paths any more and the filter below would reset nothing.
  const idsArePaths = nodes.some(([id]) => id === new URL(import.meta.url).pathname);
  if (!idsArePaths || !nodes.every(([, node]) => typeof node.evaluated === "boolean" && node.importers instanceof Set)) {
    vi.resetModules();
    return;
  }
  for (const [id, node] of nodes) {
    if (!id.startsWith(`${root}src/`) && !id.startsWith(`${root}test/`)) continue;
    node.promise = undefined;
    node.exports = undefined;
    node.evaluated = false;
    node.importers?.clear();
  }
}

/** Deletes every row (not the schema, nor the record of applied migrations). */
async function emptyD1(db: D1Database): Promise<void> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'")
    .all<{ name: string }>();
  if (results.length === 0) return;
  // Foreign keys are checked at the end of the batch, when every table is empty.
  await db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), ...results.map(({ name }) => db.prepare(`DELETE FROM "${name}"`))]);
}

async function emptyKv(kv: KVNamespace): Promise<void> {
  for (let page = await kv.list(); ; page = await kv.list({ cursor: page.cursor })) {
    await Promise.all(page.keys.map(({ name }) => kv.delete(name)));
    if (page.list_complete) return;
  }
}

async function emptyR2(bucket: R2Bucket | undefined): Promise<void> {
  if (!bucket) return;
  for (let page = await bucket.list(); ; page = await bucket.list({ cursor: page.cursor })) {
    if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
    if (!page.truncated) return;
  }
}

/**
 * A file's tenants are its own (random ids), and so are their objects, except NOBODY's
 * (src/auth/sign-in-subject.ts): every file's sign-ins with an unknown email reach that
 * one tenant's object. Once src/index.ts is evaluated afresh for a file, the first call to
 * an object an earlier file made fails ("invalidating this Durable Object. Please retry")
 * and the next one makes it anew; a sign-in's refill request is not retried (a failed one
 * only costs the next request a D1 read), so without this the file's first unknown email
 * left NOBODY's document unwritten. Called here, and again on that failure, it is new
 * before any test reaches it.
 */
async function renewNobodyObject(): Promise<void> {
  // A stub that met the failure is broken too: each attempt gets its own.
  const touch = () => runInDurableObject(env.TENANT.get(env.TENANT.idFromName(NOBODY.tenantId)), () => undefined);
  await touch().catch(touch);
}

const SHARED_LIMITER = Symbol.for("gatehouse.test.sharedLoginAddressLimiter");

/**
 * The rate limiting binding counts in real time inside the workerd and cannot be emptied:
 * this file's keys get a prefix of their own, so other files' sign-ins never count here.
 */
function ownLimiterKeys(): void {
  const holder = globalThis as { [SHARED_LIMITER]?: RateLimit };
  const shared = (holder[SHARED_LIMITER] ??= env.LOGIN_ADDRESS_LIMITER);
  if (!shared) return;
  const prefix = `${crypto.randomUUID()}:`;
  env.LOGIN_ADDRESS_LIMITER = { limit: (options) => shared.limit({ ...options, key: `${prefix}${options.key}` }) };
}

freshProjectModules();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await emptyD1(env.DB);
await emptyKv(env.SESSION_CACHE);
await emptyR2(env.AUDIT_ARCHIVE);
await renewNobodyObject();
ownLimiterKeys();
noteTenantObjects();
