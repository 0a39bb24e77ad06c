/**
 * recordAuditEvent's steps (src/rpc/app.ts runs them on a session re-read from D1, its
 * impersonation resolved, and its input validated):
 * 1. a retry under an idempotency key answers the first recording (src/rpc/idempotency.ts);
 * 2. the session must still act for the user the product acted for;
 * 3. the row (and its key) commit in one batch;
 * 4. the answer names the row and its place in the chain.
 *
 * A committed event never answers an error: when its place cannot be read back, the
 * answer is a success that says so (`placeUnavailable`) rather than an outage the product
 * would retry.
 */
import type { Context } from "hono";
import { tenantChain } from "../audit/read";
import { commitWithAudit } from "../audit/service";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { impersonationEnded } from "../impersonation/middleware";
import { randomId } from "../lib/crypto";
import { errorSummary, log } from "../lib/log";
import { type KeyedCall, earlierRecording, keyStatements, keyedCall } from "./idempotency";
import type { output } from "zod";
import type { auditEventInputSchema } from "./schemas";
import type { AuditRecorded } from "./types";

type ValidInput = output<typeof auditEventInputSchema>;

/**
 * A product event is recorded only as whom the product acted for: the session, as just
 * re-read (its impersonation resolved), must still act as `userId`, never as someone else.
 * An impersonation that has ended since is refused as the API refuses a write sent from the
 * member's view after it ended (409 IMPERSONATION_ENDED); one that started or changed since
 * would record the admin's own action as done for a member (409 ACTING_USER_CHANGED).
 */
function assertStillActingFor(c: Context<AppEnv>, userId: string): void {
  if (c.get("user").id === userId) return;
  if (!c.get("actor").isImpersonating) throw impersonationEnded();
  throw new ApiError(409, "ACTING_USER_CHANGED", "The session now acts for another user than the one named, so nothing was recorded");
}

/**
 * The answer for a recorded row: its seq and hash, as the tenant's object gives them once it
 * has drained the outbox up to the row, or, when they cannot be read back (the object is
 * unreachable), a success that says so: the event is committed and the chain takes it later.
 */
async function answerFor(c: Context<AppEnv>, tenantId: string, id: string, replayed: boolean): Promise<AuditRecorded> {
  const place = await tenantChain(c.env, tenantId)
    .auditPlace(tenantId, id)
    .catch((err: unknown) => {
      log.error("product audit row not read back", { error: errorSummary(err) });
      return null;
    });
  const mark = replayed ? { replayed: true as const } : {};
  return place ? { ok: true, id, seq: place.seq, hash: place.hash, ...mark } : { ok: true, id, placeUnavailable: true, ...mark };
}

/** The first recording under the call's key, answered again; null when there is none. */
async function replay(c: Context<AppEnv>, call: KeyedCall): Promise<AuditRecorded | null> {
  const earlier = await earlierRecording(c.var.db, call, c.get("now"));
  return earlier ? answerFor(c, call.tenantId, earlier.auditLogId, true) : null;
}

export async function recordProductEvent(c: Context<AppEnv>, input: ValidInput): Promise<AuditRecorded> {
  const { sessionId: _session, userId, ip: _ip, userAgent: _ua, requestId, idempotencyKey, ...event } = input;
  if (requestId) c.set("requestId", requestId);
  const db = c.var.db;
  const now = c.get("now");
  const tenantId = c.get("user").tenantId;
  const call = idempotencyKey === undefined ? null : await keyedCall(tenantId, { ...input, idempotencyKey });
  const earlier = call && (await replay(c, call));
  if (earlier) return earlier;
  assertStillActingFor(c, userId);

  const id = randomId("aud_");
  try {
    await commitWithAudit(c, call ? keyStatements(db, call, id, now) : [], { ...event, id });
  } catch (err) {
    // Another call with this key committed first (its batch won the key): answer its recording.
    const first = call && (await replay(c, call));
    if (first) return first;
    log.error("product audit write failed", { error: errorSummary(err) });
    throw new ApiError(503, "AUDIT_UNAVAILABLE", "The audit log cannot be written right now, so nothing was recorded; try again");
  }
  return answerFor(c, tenantId, id, false);
}
