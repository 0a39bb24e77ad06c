/**
 * Moves a tenant's audit events from D1's outbox into the chain in its object
 * (./audit-store.ts), in commit order, linking each as it is stored.
 *
 * Threat model: an event must never be lost, reordered or stored twice, whatever dies
 * between two steps. A change and its event commit in one D1 batch (src/audit/service.ts);
 * `position` is commit order. Each gap, and what closes it:
 * - committed, object not told (the request died, the call failed): the events wait in
 *   the outbox; the tenant's next write, any audit read (which drains first) and the
 *   hourly cron (which drains every tenant with outbox rows) take them;
 * - a page stored, its outbox rows not deleted: the next drain finds their ids stored
 *   (the id is unique in the chain), skips them and deletes them (idempotent). Skipping by
 *   id, not by position, keeps a D1 restore (which may hand out positions again) from
 *   hiding a new event behind an old position;
 * - a page half stored: impossible, one transaction per page.
 * One drain at a time per object (its outbox read would otherwise race another's): a
 * caller that arrives while one runs waits for one more run after it, which every caller
 * meanwhile shares.
 *
 * Rows written to D1's `audit_logs` before the chain moved here (legacy rows) are imported
 * first, in seq order, with their seq and hashes as they are (an unsealed one is linked
 * here), then deleted from D1 (the highest imported seq is stored with them, so a lost
 * delete is redone, never a second import: the next page's delete covers the page before,
 * and the last page's rows, still at or below that seq, are deleted by id once the chain is
 * found to hold them); a legacy row that arrives after outbox rows took its place is
 * appended after them. The migration is this import: a tenant's first
 * drain (any write, any audit read, the hourly cron) does it.
 */
import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { GENESIS_HASH, rowHash } from "../audit/chain";
import type { Db } from "../db/client";
import { type AuditLog, auditCheckpoints, auditLogs, auditOldest, auditOutbox } from "../db/schema";
import { type AuditDb, insertChainRows, readState, writeState } from "./audit-store";

export const DRAIN_PAGE = 200;

export type DrainResult = { appended: number };

type Link = { seq: number; hash: string };

export class AuditDrain {
  private running: Promise<DrainResult> | null = null;
  private next: Promise<DrainResult> | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly audit: AuditDb,
    private readonly d1: () => Db,
    /**
     * Told after a drain appended rows (the audit stream and the product webhooks ask for a
     * delivery), with the seq after which they are news: the chain's head before them, or
     * past the legacy rows this drain imported (history, not news).
     */
    private readonly onAppended: (tenantId: string, newsAfter: number) => Promise<void> = async () => {},
  ) {}

  /** Drains everything committed before this call. */
  drain(tenantId: string): Promise<DrainResult> {
    if (!this.running) {
      this.running = this.drainAll(tenantId).finally(() => {
        this.running = null;
      });
      return this.running;
    }
    // The running drain may have read the outbox before the caller's commit: one more after it.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.drain(tenantId);
      });
    return this.next;
  }

  private async drainAll(tenantId: string): Promise<DrainResult> {
    let appended = 0;
    const headBefore = this.head().seq;
    for (;;) {
      const page = await this.readPage(tenantId);
      appended += await this.store(page);
      await this.deleteImported(tenantId, page.behind);
      await this.cleanUp(tenantId, page.outbox.at(-1)?.position ?? null, page.legacy.length > 0);
      if (page.outbox.length < DRAIN_PAGE && page.legacy.length < DRAIN_PAGE) break;
    }
    if (appended > 0) await this.onAppended(tenantId, Math.max(headBefore, readState(this.storage, "legacy_seq")));
    return { appended };
  }

  /**
   * One D1 round trip: the outbox's first page, the next legacy rows, the legacy checkpoint,
   * and the ids of legacy rows still in D1 at or below the imported seq (see deleteImported).
   */
  private async readPage(tenantId: string) {
    const db = this.d1();
    const legacySeq = readState(this.storage, "legacy_seq");
    const [outbox, legacy, checkpoint, behind] = await db.batch([
      db.select().from(auditOutbox).where(eq(auditOutbox.tenantId, tenantId)).orderBy(asc(auditOutbox.position)).limit(DRAIN_PAGE),
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), gt(auditLogs.seq, legacySeq))).orderBy(asc(auditLogs.seq)).limit(DRAIN_PAGE),
      db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId)).limit(1),
      db.select({ id: auditLogs.id }).from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), lte(auditLogs.seq, legacySeq))).orderBy(asc(auditLogs.seq)).limit(DRAIN_PAGE),
    ]);
    return { outbox, legacy, checkpoint: checkpoint[0], behind: behind.map((r) => r.id) };
  }

  /** The chain's last link: its newest row, else its checkpoint, else the genesis. */
  head(): Link {
    const [row] = this.storage.sql.exec<{ seq: number; hash: string | null }>("SELECT seq, hash FROM audit_logs ORDER BY seq DESC LIMIT 1").toArray();
    if (row) return { seq: row.seq, hash: row.hash ?? "" };
    const [cp] = this.storage.sql.exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_checkpoints LIMIT 1").toArray();
    return cp ? { seq: cp.seq, hash: cp.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Links the page's new rows onto the head and stores them, with the bookmarks, in one transaction. Answers how many. */
  private async store(page: Awaited<ReturnType<AuditDrain["readPage"]>>): Promise<number> {
    const firstDrain = readState(this.storage, "legacy_checkpoint") === 0;
    const importCheckpoint = firstDrain && page.checkpoint !== undefined && this.head().seq === 0 ? page.checkpoint : undefined;
    let head = importCheckpoint ? { seq: importCheckpoint.seq, hash: importCheckpoint.hash } : this.head();
    let legacySeq = readState(this.storage, "legacy_seq");
    const rows: AuditLog[] = [];
    const append = async (fields: Omit<AuditLog, "seq" | "prevHash" | "hash">) => {
      const seq = head.seq + 1;
      const hash = await rowHash(head.hash, { ...fields, seq });
      rows.push({ ...fields, seq, prevHash: head.hash, hash });
      head = { seq, hash };
    };
    for (const row of page.legacy) {
      legacySeq = row.seq;
      const { seq: _seq, prevHash: _prev, hash: _hash, ...fields } = row;
      if (row.seq <= head.seq) await append(fields);
      else if (row.hash === null) {
        // Unsealed in D1: linked here, as the D1 sealer would have (a gap before it stays, for verification to report).
        const hash = await rowHash(head.hash, row);
        rows.push({ ...row, prevHash: head.hash, hash });
        head = { seq: row.seq, hash };
      } else {
        rows.push(row);
        head = { seq: row.seq, hash: row.hash };
      }
    }
    // Outbox events are newer than every legacy row: they wait while legacy rows remain.
    if (page.legacy.length < DRAIN_PAGE) {
      const stored = this.storedIds(page.outbox.map((row) => row.id));
      for (const { position: _position, ...event } of page.outbox) {
        if (!stored.has(event.id)) await append(event);
      }
    }
    if (rows.length === 0 && !firstDrain) return 0;
    this.storage.transactionSync(() => {
      if (importCheckpoint) this.audit.insert(auditCheckpoints).values(importCheckpoint).run();
      insertChainRows(this.storage, rows);
      writeState(this.storage, "legacy_seq", legacySeq);
      writeState(this.storage, "legacy_checkpoint", 1);
    });
    return rows.length;
  }

  /** Which of these ids the chain holds already. */
  private storedIds(ids: string[]): Set<string> {
    if (ids.length === 0) return new Set();
    const rows = this.storage.sql.exec<{ id: string }>("SELECT id FROM audit_logs WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).toArray();
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Deletes from D1 the legacy rows behind the imported seq that the chain holds (by id): an
   * import whose delete of its last page was lost (no later page's delete covers them). A
   * row behind it that the chain does not hold is left where it is, never deleted unread.
   */
  private async deleteImported(tenantId: string, behind: string[]): Promise<void> {
    const imported = [...this.storedIds(behind)];
    if (imported.length === 0) return;
    await this.d1()
      .delete(auditLogs)
      .where(and(eq(auditLogs.tenantId, tenantId), sql`${auditLogs.id} IN (SELECT value FROM json_each(${JSON.stringify(imported)}))`));
  }

  /**
   * Deletes the stored events (the outbox rows up to `storedUpTo`, every one of which the
   * chain now holds) and the imported legacy rows from D1, and tells D1 when the oldest row
   * was written (the retention cron's index).
   */
  async cleanUp(tenantId: string, storedUpTo: number | null, legacyRead = false): Promise<void> {
    const db = this.d1();
    if (legacyRead) await db.delete(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), lte(auditLogs.seq, readState(this.storage, "legacy_seq"))));
    const [oldestRow] = this.storage.sql.exec<{ at: number | null }>("SELECT MIN(created_at) AS at FROM audit_logs").toArray();
    const oldest = oldestRow?.at ?? 0;
    const reported = readState(this.storage, "oldest_reported");
    const deleteStored = db.delete(auditOutbox).where(and(eq(auditOutbox.tenantId, tenantId), lte(auditOutbox.position, storedUpTo ?? 0)));
    const report =
      oldest === 0
        ? db.delete(auditOldest).where(eq(auditOldest.tenantId, tenantId))
        : db.insert(auditOldest).values({ tenantId, createdAt: oldest }).onConflictDoUpdate({ target: auditOldest.tenantId, set: { createdAt: sql`excluded.created_at` } });
    if (storedUpTo !== null && oldest !== reported) await db.batch([deleteStored, report]);
    else if (storedUpTo !== null) await deleteStored;
    else if (oldest !== reported) await report;
    writeState(this.storage, "oldest_reported", oldest);
  }
}
