/**
 * Dead-lettered webhooks, in D1 (./schema.ts): an event the receiver refused for a whole day
 * (./schedule.ts) is written here by its tenant's object (./delivery.ts), which then goes on
 * with the tenant's later events. The operator lists them and asks for a replay
 * (./routes.ts); the tenant's object sends each requested one once more, same id and body,
 * freshly signed, and deletes it when the receiver takes it.
 *
 * Why D1 and not only the queue's own dead-letter queue: a Queues DLQ holds messages, not a
 * list anyone can read, filter by tenant or replay one of; and the messages here carry no
 * event anyway (they only tell an object to deliver, ./queue.ts). The queue's DLQ catches
 * something else: a delivery message that exhausted its retries because the object itself
 * could not be reached; its consumer sends it back (./queue.ts), since the events it
 * stands for still wait in the chain behind the object's cursor.
 */
import { and, asc, eq, gt, isNotNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { type WebhookDeadLetter, webhookDeadLetters } from "./schema";

export type { WebhookDeadLetter };

/** Written once per event id: a second write (a retried object call) keeps the first. */
export async function recordDeadLetter(db: Db, letter: WebhookDeadLetter): Promise<void> {
  await db.insert(webhookDeadLetters).values(letter).onConflictDoNothing();
}

export const DEAD_LETTER_PAGE = 100;

/** The oldest dead first (then chain order), at most `limit`: one tenant's or every tenant's. */
export function listDeadLetters(db: Db, options: { tenantId?: string; limit: number }) {
  return db
    .select()
    .from(webhookDeadLetters)
    .where(options.tenantId ? eq(webhookDeadLetters.tenantId, options.tenantId) : undefined)
    .orderBy(asc(webhookDeadLetters.deadAt), asc(webhookDeadLetters.seq))
    .limit(options.limit);
}

/** Marks one letter (or every letter of the tenant, or every letter) for a replay; answers the tenants whose objects must be told. */
export async function requestReplay(db: Db, which: { eventId: string } | { tenantId?: string }, nowMs: number): Promise<{ tenantId: string; count: number }[]> {
  const where = "eventId" in which ? eq(webhookDeadLetters.eventId, which.eventId) : which.tenantId ? eq(webhookDeadLetters.tenantId, which.tenantId) : undefined;
  const marked = await db.update(webhookDeadLetters).set({ replayRequestedAt: nowMs }).where(where).returning({ tenantId: webhookDeadLetters.tenantId });
  const counts = new Map<string, number>();
  for (const { tenantId } of marked) counts.set(tenantId, (counts.get(tenantId) ?? 0) + 1);
  return [...counts].map(([tenantId, count]) => ({ tenantId, count }));
}

/** The tenant's letters waiting for a replay, in chain order, after `afterSeq`. */
export function requestedReplays(db: Db, tenantId: string, afterSeq: number, limit: number) {
  return db
    .select()
    .from(webhookDeadLetters)
    .where(and(eq(webhookDeadLetters.tenantId, tenantId), isNotNull(webhookDeadLetters.replayRequestedAt), gt(webhookDeadLetters.seq, afterSeq)))
    .orderBy(asc(webhookDeadLetters.seq))
    .limit(limit);
}

/** A replay the receiver took: the letter is gone. */
export async function replayed(db: Db, eventId: string): Promise<void> {
  await db.delete(webhookDeadLetters).where(eq(webhookDeadLetters.eventId, eventId));
}

/** A replay the receiver refused: it stays dead (the operator may ask again), with what went wrong. */
export async function replayFailed(db: Db, letter: WebhookDeadLetter, error: string): Promise<void> {
  await db
    .update(webhookDeadLetters)
    .set({ replayRequestedAt: null, attempts: letter.attempts + 1, lastError: error })
    .where(eq(webhookDeadLetters.eventId, letter.eventId));
}
