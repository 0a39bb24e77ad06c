import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { requirePermission } from "../lib/authorize";
import { validate } from "../lib/validation";
import { csvRow } from "./csv";
import { type AuditView, auditExportSchema, auditSearchSchema, decodeCursor, encodeCursor, toAuditView } from "./query";
import { readTenantChain, verificationAnchors, verificationKeys } from "./read";
import { answers } from "../openapi/notes";

const EXPORT_PAGE = 500;
const CSV_COLUMNS: (keyof AuditView)[] = [
  "seq", "id", "createdAt", "action", "outcome", "actorUserId", "realUserId", "isImpersonating", "targetType", "targetId",
  "failureReason", "ip", "country", "city", "userAgent", "requestId", "before", "after", "metadata", "prevHash", "hash",
];

/** Mounted at /api/audit-logs, behind the edge check: own tenant only, always. */
export const auditRoutes = new Hono<AppEnv>()
  .use(requirePermission("SETTINGS_SECURITY_VIEW"))
  .get("/", validate("query", auditSearchSchema), answers("AUDIT_UNAVAILABLE"), async (c) => {
    const { limit, cursor, ...filter } = c.req.valid("query");
    const beforeSeq = cursor === undefined ? null : decodeCursor(cursor);
    if (cursor !== undefined && beforeSeq === null) throw new ApiError(400, "VALIDATION_FAILED", "Invalid query: cursor is not one this API issued");
    const tenantId = c.get("user").tenantId;
    const rows = await readTenantChain(c, tenantId, (chain) => chain.auditSearch(tenantId, filter, limit + 1, beforeSeq));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return c.json({ items: page.map(toAuditView), nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null });
  })
  // The product's own actions (recorded through the RPC entrypoint), for the page's filter.
  .get("/product-actions", answers("AUDIT_UNAVAILABLE"), async (c) => {
    const tenantId = c.get("user").tenantId;
    return c.json({ actions: await readTenantChain(c, tenantId, (chain) => chain.auditProductActions(tenantId)) });
  })
  .get("/verify", answers("AUDIT_KEY_UNAVAILABLE", "AUDIT_ANCHORS_UNAVAILABLE", "AUDIT_UNAVAILABLE"), async (c) => {
    const keys = verificationKeys(c.env);
    const tenantId = c.get("user").tenantId;
    const anchors = await verificationAnchors(c.env, tenantId);
    return c.json(await readTenantChain(c, tenantId, (chain) => chain.auditVerify(tenantId, c.get("now"), keys, anchors)));
  })
  .get("/export", validate("query", auditExportSchema), answers("AUDIT_UNAVAILABLE"), async (c) => {
    const { format, ...filter } = c.req.valid("query");
    const tenantId = c.get("user").tenantId;
    const readPage = (afterSeq: number) => readTenantChain(c, tenantId, (chain) => chain.auditAscending(tenantId, filter, EXPORT_PAGE, afterSeq));
    // The first page is read (draining the outbox) before the answer starts: an unreachable
    // chain is a 503, not a broken download.
    let first: Awaited<ReturnType<typeof readPage>> | null = await readPage(0);
    const encoder = new TextEncoder();
    let afterSeq = 0;
    let headerSent = false;
    // Pulled page by page as the client reads: the table is never buffered whole.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (format === "csv" && !headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(csvRow(CSV_COLUMNS)));
        }
        const rows = first ?? (await readPage(afterSeq));
        first = null;
        const text = rows
          .map(toAuditView)
          .map((r) => (format === "csv" ? csvRow(CSV_COLUMNS.map((k) => r[k])) : `${JSON.stringify(r)}\n`))
          .join("");
        if (text) controller.enqueue(encoder.encode(text));
        const last = rows[rows.length - 1];
        if (!last || rows.length < EXPORT_PAGE) controller.close();
        else afterSeq = last.seq;
      },
    });
    const stamp = new Date(c.get("now")).toISOString().replace(/[:.]/g, "-");
    return new Response(body, {
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="audit-${stamp}.${format === "csv" ? "csv" : "ndjson"}"`,
        "cache-control": "no-store",
      },
    });
  });
