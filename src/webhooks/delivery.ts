/**
 * A tenant's webhooks, delivered by its Durable Object (src/tenant-object/object.ts) from its
 * audit chain, in seq order (commit order), at least once.
 *
 * Threat model: an event lost, reordered, or held back forever by one the receiver refuses.
 * - Lost: the source is the chain itself (no second outbox). The cursor (the last seq
 *   handled) lives in the object's storage and moves past a row only once the receiver
 *   answered 2xx, the row sends nothing (./events.ts), or the row was dead-lettered in D1.
 *   A crash between a 2xx and the cursor's write sends the row again: a duplicate, with the
 *   same `webhook-id` for the receiver to drop.
 * - Reordered: one delivery in flight per tenant (the object's lease: a second call while
 *   one runs answers "busy"; the running one reads the chain again until it is at the head),
 *   and the next row is sent only after the previous one was taken or dead-lettered.
 * - Held back: a refused row is retried on ./schedule.ts's backoff for a day from its first
 *   failure, then dead-lettered (./dead-letters.ts) and the rows after it go on.
 * Where the cursor starts: at the chain's head before the first rows appended while
 * webhooks are configured, or past the legacy rows a first drain imported (noteAppended),
 * so neither turning webhooks on nor the import sends the history.
 */
import { and, asc, gt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditLogs } from "../db/schema";
import { log } from "../lib/log";
import type { AuditDb } from "../tenant-object/audit-store";
import { recordDeadLetter, replayFailed, replayed, requestedReplays } from "./dead-letters";
import { WEBHOOK_ACTIONS, webhookOf } from "./events";
import { retriesExhausted, retryDelaySeconds } from "./schedule";
import type { WebhookSender } from "./send";

/** Rows sent per object call at most; a call that stops there answers "more". */
export const MAX_PER_CALL = 50;
const PAGE = 20;

export type DeliveryOutcome =
  | { kind: "off" }
  | { kind: "busy" }
  | { kind: "done"; delivered: number }
  | { kind: "more"; delivered: number }
  | { kind: "retry"; delivered: number; delaySeconds: number };

const DDL = `CREATE TABLE IF NOT EXISTS webhook_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  failing_seq INTEGER,
  first_failed_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  next_attempt_at INTEGER
)`;

/** `nextAttemptAt`: while a row fails, when the schedule allows it again (no delivery request sends it sooner). */
type Cursor = { seq: number; failingSeq: number | null; firstFailedAt: number | null; attempts: number; lastError: string | null; nextAttemptAt: number | null };

const CLEAR = { failingSeq: null, firstFailedAt: null, attempts: 0, lastError: null, nextAttemptAt: null } as const;

export class WebhookDelivery {
  private running = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly audit: AuditDb,
    private readonly d1: () => Db,
  ) {
    storage.sql.exec(DDL);
  }

  /** A drain appended rows, news after `newsAfter` (./queue.ts), while webhooks are configured: the cursor starts there if it has not started yet. */
  noteAppended(newsAfter: number): void {
    if (this.cursor() === null) this.write({ seq: newsAfter, ...CLEAR });
  }

  /** Sends what waits (requested replays first when `replays`), under the lease. */
  async deliver(tenantId: string, nowMs: number, send: WebhookSender, options: { replays: boolean }): Promise<DeliveryOutcome> {
    if (this.running) return { kind: "busy" };
    this.running = true;
    try {
      if (options.replays) await this.replay(tenantId, nowMs, send);
      return await this.fromCursor(tenantId, nowMs, send);
    } finally {
      this.running = false;
    }
  }

  /** The cursor's state (tests and the operator's view), null before the first delivery. */
  cursor(): Cursor | null {
    const [row] = this.storage.sql
      .exec<{ seq: number; failing_seq: number | null; first_failed_at: number | null; attempts: number; last_error: string | null; next_attempt_at: number | null }>(
        "SELECT * FROM webhook_cursor WHERE id = 1",
      )
      .toArray();
    return row
      ? { seq: row.seq, failingSeq: row.failing_seq, firstFailedAt: row.first_failed_at, attempts: row.attempts, lastError: row.last_error, nextAttemptAt: row.next_attempt_at }
      : null;
  }

  private write(c: Cursor): void {
    this.storage.sql.exec(
      `INSERT INTO webhook_cursor (id, seq, failing_seq, first_failed_at, attempts, last_error, next_attempt_at) VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, failing_seq = excluded.failing_seq, first_failed_at = excluded.first_failed_at, attempts = excluded.attempts,
         last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at`,
      c.seq,
      c.failingSeq,
      c.firstFailedAt,
      c.attempts,
      c.lastError,
      c.nextAttemptAt,
    );
  }

  private passed(seq: number): void {
    this.write({ seq, ...CLEAR });
  }

  private headSeq(): number {
    const [row] = this.storage.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit_logs").toArray();
    return row?.seq ?? 0;
  }

  private nextRows(afterSeq: number) {
    return this.audit
      .select()
      .from(auditLogs)
      // One bound parameter for the list (a Durable Object's SQLite binds few).
      .where(and(gt(auditLogs.seq, afterSeq), sql`${auditLogs.action} IN (SELECT value FROM json_each(${JSON.stringify(WEBHOOK_ACTIONS)}))`))
      .orderBy(asc(auditLogs.seq))
      .limit(PAGE)
      .all();
  }

  private async fromCursor(tenantId: string, nowMs: number, send: WebhookSender): Promise<DeliveryOutcome> {
    let cursor = this.cursor();
    if (cursor === null) {
      // Configured since the last append: nothing before now is sent.
      this.passed(this.headSeq());
      return { kind: "done", delivered: 0 };
    }
    let delivered = 0;
    for (;;) {
      const head = this.headSeq();
      const rows = this.nextRows(cursor.seq);
      if (rows.length === 0) {
        if (head > cursor.seq) this.passed(head);
        return { kind: "done", delivered };
      }
      for (const row of rows) {
        if (delivered >= MAX_PER_CALL) return { kind: "more", delivered };
        const hook = webhookOf(row);
        if (!hook) {
          this.passed(row.seq);
          cursor = this.cursor() ?? cursor;
          continue;
        }
        // A row still in its backoff is not sent again early, however many delivery requests
        // come meanwhile (every append queues one): the request is retried when it is due.
        if (cursor.failingSeq === row.seq && cursor.nextAttemptAt !== null && nowMs < cursor.nextAttemptAt) {
          return { kind: "retry", delivered, delaySeconds: Math.ceil((cursor.nextAttemptAt - nowMs) / 1000) };
        }
        const body = JSON.stringify(hook.payload);
        const attempt = await send({ id: hook.id, body }, nowMs);
        if (attempt.ok) {
          delivered++;
          this.passed(row.seq);
        } else {
          const failing = cursor.failingSeq === row.seq ? cursor : { ...cursor, failingSeq: row.seq, firstFailedAt: nowMs, attempts: 0 };
          const attempts = failing.attempts + 1;
          const next = { ...failing, attempts, lastError: attempt.error, nextAttemptAt: nowMs + retryDelaySeconds(attempts) * 1000 };
          // What failed, never what was sent: ids, the attempt count and the status or error's name.
          log.warn("webhook delivery failed", { tenantId, eventId: hook.id, seq: row.seq, attempts: next.attempts, error: attempt.error });
          if (!retriesExhausted(next.firstFailedAt ?? nowMs, nowMs)) {
            this.write(next);
            return { kind: "retry", delivered, delaySeconds: retryDelaySeconds(next.attempts) };
          }
          await recordDeadLetter(this.d1(), {
            eventId: hook.id,
            tenantId,
            seq: row.seq,
            type: hook.payload.type,
            body,
            attempts: next.attempts,
            firstFailedAt: next.firstFailedAt ?? nowMs,
            deadAt: nowMs,
            lastError: attempt.error,
            replayRequestedAt: null,
          });
          log.error("webhook dead-lettered after a day of failures", { tenantId, eventId: hook.id, seq: row.seq, attempts: next.attempts });
          this.passed(row.seq);
        }
        cursor = this.cursor() ?? cursor;
      }
    }
  }

  /** Each dead letter the operator asked to replay, sent once more: deleted when taken, left dead (with its error) when not. */
  private async replay(tenantId: string, nowMs: number, send: WebhookSender): Promise<void> {
    const db = this.d1();
    let afterSeq = 0;
    for (;;) {
      const letters = await requestedReplays(db, tenantId, afterSeq, PAGE);
      for (const letter of letters) {
        const attempt = await send({ id: letter.eventId, body: letter.body }, nowMs);
        if (attempt.ok) await replayed(db, letter.eventId);
        else await replayFailed(db, letter, attempt.error);
        afterSeq = letter.seq;
      }
      if (letters.length < PAGE) return;
    }
  }
}
