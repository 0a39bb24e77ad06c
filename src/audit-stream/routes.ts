/**
 * /api/tenant/audit-stream: the tenant's audit stream to its SIEM (docs/audit-streaming.md).
 * Everything here is the owners' alone: reading the state, and, with step-up
 * AUDIT_STREAM_CHANGE and never while impersonating, saving, pausing, resuming, replaying
 * and removing it. Each change commits with its audit row in one D1 batch (refusals are
 * FAIL rows, by audited()); the tenant's object then applies it on its next delivery
 * (./deliver.ts). A stream is addressed by its id under the caller's tenant: another
 * tenant's id is 404, as is a tenant without one.
 *
 * Threat model: the stream sends the whole audit log out of Gatehouse, so only an owner
 * points it somewhere, after proving it is them; the token is sealed (./token-box.ts) and
 * never answered, audited or logged (the hint, its last four characters, is); the
 * endpoint is https (./endpoint.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type Context, Hono } from "hono";
import { audited } from "../audit/middleware";
import { type AuditEvent, commitWithAudit } from "../audit/service";
import { failedWith } from "../db/errors";
import { assertInBatch, isInvariantViolation } from "../db/invariants";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { forbidWhileImpersonating } from "../impersonation/middleware";
import { requireRole } from "../lib/authorize";
import { randomId } from "../lib/crypto";
import { errorSummary, log } from "../lib/log";
import { validate, validationFailed } from "../lib/validation";
import { answers } from "../openapi/notes";
import { requireStepUp } from "../stepup/middleware";
import { tenantObject } from "../tenant-object/stub";
import { requestStreamDelivery } from "./queue";
import { replayBody, saveBody, streamIdParam } from "./schemas";
import { type StreamProgress, auditedStream, loadStream, toStreamView } from "./store";
import { type AuditStream, auditStreams } from "./table";
import { sealStreamToken, tokenHint } from "./token-box";

const streamNotFound = () => notFound("Audit stream", "AUDIT_STREAM_NOT_FOUND");

/** Where delivery stands, from the tenant's object; 503 AUDIT_UNAVAILABLE when it cannot be asked. */
async function progressOf(c: Context<AppEnv>, tenantId: string): Promise<StreamProgress> {
  try {
    return (await tenantObject(c.env, tenantId).auditStreamProgress(tenantId)) as StreamProgress;
  } catch (err) {
    log.error("audit stream state unavailable", { tenantId, error: errorSummary(err) });
    throw new ApiError(503, "AUDIT_UNAVAILABLE", "The audit stream's state cannot be read right now; try again");
  }
}

/** The caller's tenant's stream named by the route's id, or 404 (another tenant's included). */
async function ownStream(c: Context<AppEnv>, id: string): Promise<AuditStream> {
  const stream = await loadStream(c.var.db, c.get("user").tenantId);
  if (!stream || stream.id !== id) throw streamNotFound();
  return stream;
}

/**
 * Batch items, placed before the change, asserting that the tenant's stream is still the one
 * the route read (none, or this id at this version): a change that landed in between aborts
 * the batch, and the answer is 409 AUDIT_STREAM_CHANGED with nothing written.
 */
function streamUnchanged(c: Context<AppEnv>, tenantId: string, before: AuditStream | null) {
  const current = sql`(SELECT ${auditStreams.id} || ':' || ${auditStreams.updatedAt} || ':' || ${auditStreams.replayId} FROM ${auditStreams} WHERE ${auditStreams.tenantId} = ${tenantId})`;
  return assertInBatch(c.var.db, tenantId, "AUDIT_STREAM_UNCHANGED", sql`${current} IS ${before ? `${before.id}:${before.updatedAt}:${before.replayId}` : null}`);
}

/** The stream's change (`after`, or its removal) over `before`, guarded, with its audit row in one batch. */
async function commitGuarded(c: Context<AppEnv>, tenantId: string, before: AuditStream | null, change: BatchItem<"sqlite">, event: AuditEvent): Promise<void> {
  try {
    await commitWithAudit(c, [...streamUnchanged(c, tenantId, before), change], event);
  } catch (err) {
    if (isInvariantViolation(err) || failedWith(err, /UNIQUE constraint failed: audit_streams\./)) {
      throw new ApiError(409, "AUDIT_STREAM_CHANGED", "The audit stream changed while this change was being made; reload it and try again");
    }
    throw err;
  }
}

/** Commits `after` over `before` with its audit row, then asks for a delivery (after the answer). */
async function commitStreamChange(c: Context<AppEnv>, before: AuditStream | null, after: AuditStream, event: Pick<AuditEvent, "action" | "metadata">) {
  const db = c.var.db;
  const write = before
    ? db.update(auditStreams).set(after).where(and(eq(auditStreams.id, before.id), eq(auditStreams.tenantId, before.tenantId)))
    : db.insert(auditStreams).values(after);
  await commitGuarded(c, after.tenantId, before, write, {
    ...event,
    outcome: "SUCCESS",
    targetType: "audit_stream",
    targetId: after.id,
    before: before ? auditedStream(before) : null,
    after: auditedStream(after),
  });
  askForDelivery(c, after.tenantId);
}

function askForDelivery(c: Context<AppEnv>, tenantId: string): void {
  const asked = requestStreamDelivery(c.env, tenantId);
  try {
    c.executionCtx.waitUntil(asked);
  } catch {
    // No execution context (a direct call): the promise runs on its own.
  }
}

async function answerStream(c: Context<AppEnv>, stream: AuditStream, status: 200 | 201 = 200) {
  return c.json({ stream: toStreamView(stream, await progressOf(c, stream.tenantId)) }, status);
}

/** A change route's gate after its audit and input checks: never on someone's behalf, the owner, step-up. */
const changeGate = [forbidWhileImpersonating("Changing the audit stream"), requireRole("owner"), requireStepUp("AUDIT_STREAM_CHANGE")] as const;
const auditedChange = (action: Parameters<typeof audited>[0]) => audited(action, { targetType: "audit_stream", targetParam: "id" });

/** Mounted at /api/tenant/audit-stream, behind the edge check. */
export const auditStreamRoutes = new Hono<AppEnv>()
  .get("/", requireRole("owner"), async (c) => {
    const stream = await loadStream(c.var.db, c.get("user").tenantId);
    return stream ? answerStream(c, stream) : c.json({ stream: null });
  })
  .put(
    "/",
    audited("AUDIT_STREAM_SAVED", { targetType: "audit_stream" }),
    validate("json", saveBody),
    ...changeGate,
    answers("AUDIT_STREAM_UNAVAILABLE", "AUDIT_STREAM_CHANGED"),
    async (c) => {
      const me = c.get("user");
      const body = c.req.valid("json");
      const before = await loadStream(c.var.db, me.tenantId);
      if (!before && body.token === undefined) throw validationFailed("json", [{ path: ["token"], message: "is required for a new stream" }]);
      const now = c.get("now");
      const after: AuditStream = {
        id: before?.id ?? randomId("ast_"),
        tenantId: me.tenantId,
        preset: body.preset,
        url: body.url,
        tokenEnc: body.token === undefined ? (before as AuditStream).tokenEnc : await sealStreamToken(c.env, me.tenantId, body.token),
        tokenHint: body.token === undefined ? (before as AuditStream).tokenHint : tokenHint(body.token),
        paused: before?.paused ?? false,
        // A new stream sends the whole chain; a changed one goes on from its cursor.
        replayId: before?.replayId ?? randomId("rpl_"),
        replayFromSeq: before?.replayFromSeq ?? 1,
        savedBy: me.id,
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      await commitStreamChange(c, before, after, { action: "AUDIT_STREAM_SAVED", metadata: { tokenChanged: body.token !== undefined } });
      return answerStream(c, after, before ? 200 : 201);
    },
  )
  .post("/:id/pause", auditedChange("AUDIT_STREAM_PAUSED"), validate("param", streamIdParam), ...changeGate, answers("AUDIT_STREAM_NOT_FOUND", "AUDIT_STREAM_CHANGED"), async (c) => {
    const before = await ownStream(c, c.req.valid("param").id);
    const after = { ...before, paused: true, updatedAt: c.get("now") };
    await commitStreamChange(c, before, after, { action: "AUDIT_STREAM_PAUSED" });
    return answerStream(c, after);
  })
  .post("/:id/resume", auditedChange("AUDIT_STREAM_RESUMED"), validate("param", streamIdParam), ...changeGate, answers("AUDIT_STREAM_NOT_FOUND", "AUDIT_STREAM_CHANGED"), async (c) => {
    const before = await ownStream(c, c.req.valid("param").id);
    const after = { ...before, paused: false, updatedAt: c.get("now") };
    await commitStreamChange(c, before, after, { action: "AUDIT_STREAM_RESUMED" });
    return answerStream(c, after);
  })
  .post(
    "/:id/replay",
    auditedChange("AUDIT_STREAM_REPLAYED"),
    validate("param", streamIdParam),
    validate("json", replayBody),
    ...changeGate,
    answers("AUDIT_STREAM_NOT_FOUND", "AUDIT_STREAM_CHANGED", "AUDIT_UNAVAILABLE"),
    async (c) => {
      const before = await ownStream(c, c.req.valid("param").id);
      const { fromSeq } = c.req.valid("json");
      const { headSeq } = await progressOf(c, before.tenantId);
      if (fromSeq > headSeq + 1) throw validationFailed("json", [{ path: ["fromSeq"], message: `is past the newest row (seq ${headSeq})` }]);
      const after = { ...before, replayId: randomId("rpl_"), replayFromSeq: fromSeq, updatedAt: c.get("now") };
      await commitStreamChange(c, before, after, { action: "AUDIT_STREAM_REPLAYED", metadata: { fromSeq } });
      return answerStream(c, after);
    },
  )
  .delete("/:id", auditedChange("AUDIT_STREAM_DELETED"), validate("param", streamIdParam), ...changeGate, answers("AUDIT_STREAM_NOT_FOUND", "AUDIT_STREAM_CHANGED"), async (c) => {
    const before = await ownStream(c, c.req.valid("param").id);
    const remove = c.var.db.delete(auditStreams).where(and(eq(auditStreams.id, before.id), eq(auditStreams.tenantId, before.tenantId)));
    await commitGuarded(c, before.tenantId, before, remove, {
      action: "AUDIT_STREAM_DELETED",
      outcome: "SUCCESS",
      targetType: "audit_stream",
      targetId: before.id,
      before: auditedStream(before),
      after: null,
    });
    return c.json({ success: true });
  });
