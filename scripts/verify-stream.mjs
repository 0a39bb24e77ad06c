// Verifies a SIEM's copy of a Gatehouse audit stream offline (docs/audit-streaming.md):
//
//   node scripts/verify-stream.mjs [--from-any-seq] <file or directory>...
//
// Each file holds what the receiver was sent (NDJSON rows, Splunk HEC events, or Datadog
// JSON arrays; one body or several concatenated NDJSON ones). Checks every row's hash and
// link and that no seq is missing from seq 1 (or from the first received, with
// --from-any-seq). Exit code 0: verified; 1: broken (reason and seq printed); 2: usage.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkStreamCopy } from "./audit-stream-check.mjs";

const args = process.argv.slice(2);
const allowLaterStart = args.includes("--from-any-seq");
const paths = args.filter((a) => a !== "--from-any-seq");
if (paths.length === 0) {
  console.error("Usage: node scripts/verify-stream.mjs [--from-any-seq] <received file | directory>...");
  process.exit(2);
}
const files = paths.flatMap((path) => (statSync(path).isDirectory() ? readdirSync(path, { recursive: true }).map(String).map((f) => join(path, f)).filter((f) => statSync(f).isFile()) : [path]));
const result = await checkStreamCopy(files.map((f) => readFileSync(f, "utf8")), { allowLaterStart });
if (result.ok) console.log(`ok      ${result.tenantId}: seq ${result.fromSeq}…${result.toSeq}, ${result.rows} rows, head ${result.lastHash}`);
else console.log(`BROKEN  ${result.reason}${result.seq !== undefined ? ` at seq ${result.seq}` : ""}: ${result.detail}`);
process.exit(result.ok ? 0 : 1);
