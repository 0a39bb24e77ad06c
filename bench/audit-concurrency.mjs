// Audit rows under concurrency: every refused request must leave exactly one FAIL row,
// however many arrive at once, and the chain must still verify. Counts, not timings.
//
//   node bench/audit-concurrency.mjs        (starts its own copy of the app, prints the figures)
//
// `npm run bench` calls auditUnderConcurrency() on its small copy and reports one line.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getOk, signIn } from "./client.mjs";

const TIMEOUT_MS = 30_000;

async function send(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.arrayBuffer();
  return res.status;
}

/** FAIL rows of `action` in the signed-in user's tenant, counted through the API (paged). */
async function countFailRows(baseUrl, cookie, action) {
  let n = 0;
  let cursor = null;
  do {
    const page = await getOk(baseUrl, `/api/audit-logs?action=${action}&outcome=FAIL&limit=200${cursor ? `&cursor=${cursor}` : ""}`, cookie);
    n += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

/**
 * `parallel` refused requests at once: one owner's invalid role changes (400, each
 * audited as USER_ROLE_UPDATED FAIL by audited(), never deduplicated). Returns requests
 * refused, rows written, and the chain verdict afterwards. (Failed sign-ins from one
 * address are deduplicated by design, src/audit/dedupe.ts, so they cannot be counted
 * one row per request; the tests cover them from distinct addresses.) Globex by default:
 * the bench's bulk rows (whose hashes are synthetic) are all Acme's, so Globex's chain
 * is a real one.
 */
export async function auditUnderConcurrency(baseUrl, { parallel = 60, email = "carol@globex.test" } = {}) {
  const owner = await signIn(baseUrl, email);
  const before = await countFailRows(baseUrl, owner, "USER_ROLE_UPDATED");
  const statuses = await Promise.all(
    Array.from({ length: parallel }, () =>
      send(`${baseUrl}/api/users/usr_bob/role`, {
        method: "PATCH",
        headers: { "content-type": "application/json", cookie: owner },
        body: JSON.stringify({ role: "emperor" }),
      }),
    ),
  );
  const verify = await getOk(baseUrl, "/api/audit-logs/verify", owner);
  return {
    parallel,
    refused: statuses.filter((s) => s === 400).length,
    rows: (await countFailRows(baseUrl, owner, "USER_ROLE_UPDATED")) - before,
    verify: { ok: verify.ok, checked: verify.checked, firstBrokenSeq: verify.firstBrokenSeq },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startServer, stopAll } = await import("./server.mjs");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-audit-"));
  let code = 0;
  try {
    const server = await startServer(process.cwd(), dir);
    console.log(JSON.stringify(await auditUnderConcurrency(server.url), null, 2));
  } catch (err) {
    console.error(err.stack ?? err);
    code = 1;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}
