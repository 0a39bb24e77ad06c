/**
 * The serial writer of a tenant's edge document (src/edge-document/, docs/consistency.md),
 * run inside the tenant's Durable Object (./object.ts).
 *
 * Threat model: KV takes one write per key per second. Writers racing for the document got
 * refused, waited, retried and finally deleted it, so every location fell back to D1 and a
 * busy tenant's changes took seconds. Here every change is told to one writer, which
 * coalesces them: it writes the document (always built whole from D1, after the changes
 * committed) at most once per WRITE_SPACING_MS, so no change waits on KV's limit and none
 * is lost: a change is acknowledged only once it is stored, and a write covers every change
 * told before its build began.
 *
 * The spacing is counted from each write's put to KV, not from when its attempt began: a
 * build that takes longer than the next one would otherwise bring two puts within a second.
 * An alarm never fires early; one set by a change told while a write was being built (for a
 * second after that attempt began) is moved, once the write is done, to a second after its
 * put. A failed build or write is tried again after a growing pause.
 */
import type { TenantEdgeState } from "../edge-document/document";

/** KV's limit: one write per key per second. */
export const WRITE_SPACING_MS = 1000;
/** The longest pause between attempts while D1 or KV keeps failing. */
const MAX_RETRY_MS = 30_000;

/** What the writer keeps in the object's storage (key "edge"). */
export type EdgeWriterState = {
  tenantId: string;
  /** Changes told so far (a counter), and how many of them the last stored document covers. */
  requested: number;
  written: number;
  /** The latest change's time as its writer's clock said, and this object's clock then. */
  changedAtMs: number;
  toldAtRealMs: number;
  /**
   * By this object's clock: when the last write was handed to KV (a failed build: when its
   * attempt began; while a write is being built: when it began); 0: never.
   */
  lastAttemptRealMs: number;
  /** Attempts failed in a row (the pause doubles with each). */
  failures: number;
};

export type EdgeWriterDeps = {
  storage: Pick<DurableObjectStorage, "get" | "put" | "getAlarm" | "setAlarm">;
  /** The document as D1 says it at `atMs`. */
  build: (tenantId: string, atMs: number) => Promise<TenantEdgeState>;
  /** Stores the document in KV. */
  write: (doc: TenantEdgeState) => Promise<void>;
  /** This object's clock. */
  realNowMs: () => number;
  onFailure?: (tenantId: string, err: unknown) => void;
};

const KEY = "edge";

/** The first moment KV's limit (or, after failures, the growing pause) allows the next attempt. */
function nextAttemptAt(state: EdgeWriterState): number {
  if (state.lastAttemptRealMs === 0) return 0;
  const pause = state.failures === 0 ? WRITE_SPACING_MS : Math.min(MAX_RETRY_MS, WRITE_SPACING_MS * 2 ** state.failures);
  return state.lastAttemptRealMs + pause;
}

export class EdgeWriter {
  constructor(private readonly deps: EdgeWriterDeps) {}

  private async load(): Promise<EdgeWriterState | undefined> {
    return this.deps.storage.get<EdgeWriterState>(KEY);
  }

  /**
   * A change of the tenant committed at `changedAtMs` (its writer's clock): stored before
   * this returns, and its write scheduled at the first moment KV's limit allows.
   */
  async told(tenantId: string, changedAtMs: number): Promise<void> {
    const now = this.deps.realNowMs();
    const prev = await this.load();
    const state: EdgeWriterState = prev
      ? { ...prev, requested: prev.requested + 1, changedAtMs: Math.max(prev.changedAtMs, changedAtMs), toldAtRealMs: now }
      : { tenantId, requested: 1, written: 0, changedAtMs, toldAtRealMs: now, lastAttemptRealMs: 0, failures: 0 };
    await this.deps.storage.put(KEY, state);
    await this.schedule(state, now);
  }

  /** Writes the document if a change is not covered yet; the alarm's work. */
  async flush(): Promise<void> {
    const before = await this.load();
    if (!before || before.written >= before.requested) return;
    const startedAt = this.deps.realNowMs();
    const covers = before.requested;
    // Stored before the write begins: a change told meanwhile schedules after this attempt.
    await this.deps.storage.put(KEY, { ...before, lastAttemptRealMs: startedAt });
    // The latest change's clock, moved on by the time since it was told: "now", as the
    // writers' clocks count (the document's window is measured in their time).
    const atMs = before.changedAtMs + Math.max(0, startedAt - before.toldAtRealMs);
    let wrote = false;
    let attemptAt = startedAt;
    try {
      const doc = await this.deps.build(before.tenantId, atMs);
      attemptAt = this.deps.realNowMs();
      await this.deps.write(doc);
      wrote = true;
    } catch (err) {
      this.deps.onFailure?.(before.tenantId, err);
    }
    // Changes told while this one built and wrote are in `after`, not covered by this write.
    const after = (await this.load()) ?? before;
    const state: EdgeWriterState = {
      ...after,
      written: wrote ? Math.max(after.written, covers) : after.written,
      lastAttemptRealMs: attemptAt,
      failures: wrote ? 0 : after.failures + 1,
    };
    await this.deps.storage.put(KEY, state);
    // An alarm set meanwhile counted from when this attempt began: the next is due only now.
    await this.schedule(state, this.deps.realNowMs(), { replaceEarlier: true });
  }

  /** Sets the alarm for the pending changes, if any, no earlier than KV's limit allows. */
  private async schedule(state: EdgeWriterState, nowRealMs: number, { replaceEarlier = false } = {}): Promise<void> {
    if (state.written >= state.requested) return;
    const at = Math.max(nowRealMs, nextAttemptAt(state));
    const current = await this.deps.storage.getAlarm();
    if (current === null || current > at || (replaceEarlier && current < at)) await this.deps.storage.setAlarm(at);
  }
}
