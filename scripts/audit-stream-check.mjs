// The offline check of a SIEM's copy of a Gatehouse audit stream (docs/audit-streaming.md):
// the rows the stream delivered, in any of its presets' shapes, checked with the audit
// archive's own verifier (./audit-archive-check.mjs): every row's hash and link, no seq
// missing between the first and the last. Plain JavaScript, independent of the worker's
// code; scripts/verify-stream.mjs is the command line around it.
import { ARCHIVE_FORMAT, GENESIS_HASH, checkArchives } from "./audit-archive-check.mjs";

/** The audit rows a received body holds: NDJSON rows, Splunk HEC events (`event`), or a Datadog array (`audit`). */
export function rowsOfBody(text) {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  if (trimmed.startsWith("[")) return JSON.parse(trimmed).map((entry) => entry.audit ?? entry);
  return trimmed
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const value = JSON.parse(line);
      return value.event !== undefined && value.sourcetype !== undefined ? value.event : value;
    });
}

/**
 * Checks the rows received (bodies in any order, duplicates allowed: a batch retried after
 * a failure arrives twice). A seq received twice with different rows is a FORK. Answers
 * checkArchives's result: `{ ok: true, fromSeq, toSeq, rows, lastHash, … }` or
 * `{ ok: false, reason, detail, seq? }`. The copy may start after seq 1 (a stream saved
 * after retention pruned the oldest rows, or a replay) only when `allowLaterStart`.
 */
export async function checkStreamCopy(bodies, { allowLaterStart = false } = {}) {
  const bySeq = new Map();
  for (const row of bodies.flatMap(rowsOfBody)) {
    const seen = bySeq.get(row.seq);
    if (seen && seen.hash !== row.hash) return { ok: false, reason: "FORK", detail: `two different rows were received at seq ${row.seq}`, seq: row.seq };
    bySeq.set(row.seq, row);
  }
  const rows = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) return { ok: false, reason: "EMPTY", detail: "no rows received" };
  // One archive object of all the rows, as retention would have written it (its checkpoint
  // names the last row; it has no MAC, so no key is given).
  const header = {
    format: ARCHIVE_FORMAT,
    version: 1,
    tenantId: first.tenantId,
    fromSeq: first.seq,
    toSeq: last.seq,
    prevHash: first.seq === 1 ? GENESIS_HASH : first.prevHash,
    rows: rows.length,
    checkpoint: { tenantId: first.tenantId, seq: last.seq, hash: last.hash },
  };
  const text = [header, ...rows].map((line) => JSON.stringify(line)).join("\n") + "\n";
  return checkArchives([text], null, { allowLaterStart });
}
