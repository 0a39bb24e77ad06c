/**
 * How a batch of audit rows is posted to each kind of receiver. Every row is sent in the
 * form the audit archive stores and the offline verifier reads (src/audit/archive.ts:
 * epoch-ms `createdAt`, JSON columns decoded, with `seq`, `prevHash` and `hash`), so the
 * receiver's copy verifies (scripts/verify-stream.mjs):
 * - `ndjson`: one row per line, `Authorization: Bearer <token>`;
 * - `splunk_hec`: one HEC event object per line (`{ time, source, sourcetype, event: row }`),
 *   `Authorization: Splunk <token>` (POST to the collector's /services/collector/event);
 * - `datadog`: a JSON array of log entries (`{ ddsource, service, ddtags, message, audit: row }`),
 *   `DD-API-KEY: <token>` (POST to the logs intake's /api/v2/logs).
 */
import type { AuditLog } from "../db/schema";
import type { StreamPreset } from "./vocabulary";

export type StreamRequest = { headers: Record<string, string>; body: string };

const SOURCE = "gatehouse";

const lines = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join("\n") + "\n";

/** The request that carries `rows` (seq order) of `tenantId` to a receiver of `preset`, authenticated by `token`. */
export function streamRequest(preset: StreamPreset, token: string, tenantId: string, rows: readonly AuditLog[]): StreamRequest {
  switch (preset) {
    case "ndjson":
      return { headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body: lines([...rows]) };
    case "splunk_hec":
      return {
        headers: { authorization: `Splunk ${token}`, "content-type": "application/json" },
        body: lines(rows.map((row) => ({ time: row.createdAt / 1000, source: SOURCE, sourcetype: "gatehouse:audit", event: row }))),
      };
    case "datadog":
      return {
        headers: { "dd-api-key": token, "content-type": "application/json" },
        body: JSON.stringify(
          rows.map((row) => ({ ddsource: SOURCE, service: SOURCE, ddtags: `tenant_id:${tenantId}`, message: `${row.action} ${row.outcome}`, audit: row })),
        ),
      };
  }
}
