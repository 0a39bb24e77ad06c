/**
 * The audit stream's queue (AUDIT_STREAM_QUEUE): each message `{ kind: "audit-stream",
 * tenantId }` only says "this tenant's stream may have work"; the tenant's object decides
 * what (./deliver.ts). Sent after a drain appends rows to an active stream's chain, after
 * an owner's change (save, resume, replay), and by the hourly cron for every active stream
 * (the safety net for a message lost). A failed delivery retries its message with the
 * backoff's delay; a backlog longer than one call continues in a new message.
 */
import { eq } from "drizzle-orm";
import { createDb } from "../db/client";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { type Infer, z } from "../lib/zod";
import { tenantObject } from "../tenant-object/stub";
import { retryDelaySeconds } from "./backoff";
import { auditStreams } from "./table";

export const AUDIT_STREAM_MESSAGE_KIND = "audit-stream";

const streamMessage = z.strictObject({ kind: z.literal(AUDIT_STREAM_MESSAGE_KIND), tenantId: z.string().min(1).max(128) });
export type StreamMessage = Infer<typeof streamMessage>;

/** Asks for a delivery of the tenant's stream; without the binding (or when the send fails) the hourly cron's message comes instead. */
export async function requestStreamDelivery(env: Pick<Bindings, "AUDIT_STREAM_QUEUE">, tenantId: string): Promise<void> {
  if (!env.AUDIT_STREAM_QUEUE) return;
  try {
    await env.AUDIT_STREAM_QUEUE.send({ kind: AUDIT_STREAM_MESSAGE_KIND, tenantId } satisfies StreamMessage);
  } catch (err) {
    log.warn("audit stream delivery not requested; the hourly run asks again", { tenantId, error: errorSummary(err) });
  }
}

/** The queue's consumer: one delivery call per message, at `nowMs`. */
export async function consumeAuditStream(batch: MessageBatch<unknown>, env: Bindings, nowMs: number): Promise<void> {
  for (const message of batch.messages) {
    const parsed = streamMessage.safeParse(message.body);
    if (!parsed.success) {
      log.warn("audit stream message ignored: not one of ours", { id: message.id });
      message.ack();
      continue;
    }
    const { tenantId } = parsed.data;
    try {
      const outcome = await tenantObject(env, tenantId).deliverAuditStream(tenantId, nowMs);
      if (outcome.kind === "failed") {
        message.retry({ delaySeconds: outcome.delaySeconds });
        continue;
      }
      if (outcome.kind === "more") await requestStreamDelivery(env, tenantId);
      message.ack();
    } catch (err) {
      // D1 or the object unavailable: nothing was delivered past the cursor; try again later.
      log.error("audit stream delivery failed", { tenantId, error: errorSummary(err) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

const STREAMS_PER_RUN = 1000;

/** The hourly safety net: a delivery request for every stream not paused. */
export async function requestActiveStreamDeliveries(env: Bindings): Promise<{ requested: number }> {
  if (!env.AUDIT_STREAM_QUEUE) return { requested: 0 };
  const rows = await createDb(env.DB).select({ tenantId: auditStreams.tenantId }).from(auditStreams).where(eq(auditStreams.paused, false)).limit(STREAMS_PER_RUN);
  for (let i = 0; i < rows.length; i += 100) {
    await env.AUDIT_STREAM_QUEUE.sendBatch(rows.slice(i, i + 100).map(({ tenantId }) => ({ body: { kind: AUDIT_STREAM_MESSAGE_KIND, tenantId } satisfies StreamMessage })));
  }
  return { requested: rows.length };
}
