// Verifies Gatehouse audit archives offline: the NDJSON objects retention writes to the
// AUDIT_ARCHIVE R2 bucket (docs/operations.md, "Retention and the audit archive").
//
//   AUDIT_CHECKPOINT_KEY=<the worker's key or key set> node scripts/verify-archive.mjs <file or directory>...
//
// Checks, per tenant and in seq order: every row's hash and link, that the objects
// continue one another from seq 1 (or from the first given, with --from-any-seq) with no
// seq missing, that each checkpoint names its object's last row and, with the key, that
// its HMAC is the worker's. An object that overlaps others and holds the same rows (left
// by a prune whose delete failed) is named, not counted as broken; one that holds other
// rows at a seq is a FORK. The key is read from the environment only (never an argument,
// which would land in the shell history). Exit code 0: verified; 1: broken (the reason,
// seq and file are printed); 2: usage.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkArchives, importCheckpointKeys } from "./audit-archive-check.mjs";

const args = process.argv.slice(2);
const allowLaterStart = args.includes("--from-any-seq");
const paths = args.filter((a) => a !== "--from-any-seq");
if (paths.length === 0) {
  console.error("Usage: AUDIT_CHECKPOINT_KEY=… node scripts/verify-archive.mjs [--from-any-seq] <archive.ndjson | directory>...");
  process.exit(2);
}

const files = paths.flatMap((path) =>
  statSync(path).isDirectory()
    ? readdirSync(path, { recursive: true }).map(String).filter((f) => f.endsWith(".ndjson")).map((f) => join(path, f))
    : [path],
);
// Group by tenant (the header's tenantId), so one directory may hold several tenants.
const byTenant = new Map();
for (const file of files.sort()) {
  const text = readFileSync(file, "utf8");
  let tenantId = "?";
  try {
    tenantId = JSON.parse(text.slice(0, text.indexOf("\n"))).tenantId ?? "?";
  } catch {}
  byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), { file, text }]);
}

const rawKey = process.env.AUDIT_CHECKPOINT_KEY;
const key = rawKey ? await importCheckpointKeys(rawKey) : null;
if (!key) console.warn("AUDIT_CHECKPOINT_KEY is not set: hashes and links are checked, checkpoint MACs are not.");

let broken = false;
for (const [tenantId, objects] of byTenant) {
  const result = await checkArchives(objects.map((o) => o.text), key, { allowLaterStart });
  if (result.ok) {
    console.log(`ok      ${tenantId}: seq ${result.fromSeq}…${result.toSeq}, ${result.rows} rows in ${result.objects} object(s), head ${result.lastHash}${result.macChecked ? ", checkpoints authentic" : ""}`);
    for (const index of result.overlapping) {
      console.log(`overlap ${tenantId}: ${objects[index]?.file} overlaps other objects and holds the same rows (left by a prune whose delete failed, or by a run after a D1 restore): not needed for the chain`);
    }
  } else {
    broken = true;
    const where = result.index !== undefined ? ` in ${objects[result.index]?.file}` : "";
    console.log(`BROKEN  ${tenantId}: ${result.reason}${result.seq !== undefined ? ` at seq ${result.seq}` : ""}${where}: ${result.detail}`);
  }
}
process.exit(broken ? 1 : 0);
