// Verifies Gatehouse audit archives offline: the NDJSON objects retention writes to the
// AUDIT_ARCHIVE R2 bucket (docs/operations.md, "Retention and the audit archive").
//
//   AUDIT_CHECKPOINT_KEY=<the worker's key or key set> node scripts/verify-archive.mjs [--anchors <path>] <file or directory>...
//
// Checks, per tenant and in seq order: every row's hash and link, that the objects
// continue one another from seq 1 (or from the first given, with --from-any-seq) with no
// seq missing, that each checkpoint names its object's last row and, with the key, that
// its HMAC is the worker's. An object that overlaps others and holds the same rows (left
// by a prune whose delete failed) is named, not counted as broken; one that holds other
// rows at a seq is a FORK. The key is read from the environment only (never an argument,
// which would land in the shell history).
//
// --anchors <path>: the anchors downloaded from the AUDIT_ANCHORS bucket (src/audit/anchors.ts),
// a directory of its `.json` objects (searched recursively, e.g. a copy of `anchors/`) or an
// NDJSON file of the records, one a line. Each tenant's archived chain is compared with its
// anchors: a forged anchor (bad MAC, given the key) is ANCHOR_UNAUTHENTIC, and a rewritten
// and re-sealed chain is ANCHOR_MISMATCH at the first anchored seq that no longer matches.
//
// Exit code 0: verified; 1: broken (the reason, seq and file are printed); 2: usage.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkArchives, importCheckpointKeys } from "./audit-archive-check.mjs";

const USAGE = "Usage: AUDIT_CHECKPOINT_KEY=… node scripts/verify-archive.mjs [--from-any-seq] [--anchors <directory | anchors.ndjson>] <archive.ndjson | directory>...";
const args = process.argv.slice(2);
const allowLaterStart = args.includes("--from-any-seq");
const anchorsAt = args.indexOf("--anchors");
const anchorsPath = anchorsAt < 0 ? null : args[anchorsAt + 1];
const paths = args.filter((a, i) => a !== "--from-any-seq" && (anchorsAt < 0 || (i !== anchorsAt && i !== anchorsAt + 1)));
if (paths.length === 0 || anchorsPath === undefined) {
  console.error(USAGE);
  process.exit(2);
}

/** The files a path names: itself, or a directory's files ending in `suffix` (recursively). */
const filesAt = (path, suffix) =>
  statSync(path).isDirectory() ? readdirSync(path, { recursive: true }).map(String).filter((f) => f.endsWith(suffix)).map((f) => join(path, f)) : [path];

const files = paths.flatMap((path) => filesAt(path, ".ndjson"));
// Each anchor object holds one record; an NDJSON file one a line. A line that is not JSON is kept as null (and reported).
const anchors =
  anchorsPath === null
    ? null
    : filesAt(anchorsPath, ".json").flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => {
            try {
              return JSON.parse(line);
            } catch {
              console.log(`BROKEN  anchors: ${file} holds a line that is not JSON`);
              process.exit(1);
            }
          }),
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
  const result = await checkArchives(objects.map((o) => o.text), key, { allowLaterStart, anchors });
  if (result.ok) {
    console.log(`ok      ${tenantId}: seq ${result.fromSeq}…${result.toSeq}, ${result.rows} rows in ${result.objects} object(s), head ${result.lastHash}${result.macChecked ? ", checkpoints authentic" : ""}`);
    if (result.anchors) {
      const a = result.anchors;
      console.log(`anchors ${tenantId}: ${a.checked} match the archives${a.matchedThroughSeq === null ? "" : ` (through seq ${a.matchedThroughSeq})`}${a.macChecked ? ", all authentic" : ", MACs not checked (no key)"}${a.retiredKey > 0 ? `; ${a.retiredKey} signed by a key not given, not compared` : ""}; ${a.pastArchives} cover rows still in the live chain (GET /api/audit-logs/verify checks those)`);
    }
    for (const index of result.overlapping) {
      console.log(`overlap ${tenantId}: ${objects[index]?.file} overlaps other objects and holds the same rows (left by a prune whose delete failed, or by a run after a D1 restore): not needed for the chain`);
    }
  } else {
    broken = true;
    const where = result.index !== undefined ? ` in ${objects[result.index]?.file}` : "";
    console.log(`BROKEN  ${tenantId}: ${result.reason}${result.seq !== undefined ? ` at seq ${result.seq}` : ""}${where}: ${result.detail}`);
  }
}
for (const tenantId of new Set((anchors ?? []).map((a) => a?.tenantId))) {
  if (!byTenant.has(tenantId)) console.log(`anchors ${tenantId}: no archive of this tenant given, its anchors were not compared`);
}
process.exit(broken ? 1 : 0);
