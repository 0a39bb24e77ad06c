/**
 * Delivery of a tenant's audit chain to its SIEM, run by the tenant's object
 * (src/tenant-object/object.ts) when the queue asks (./queue.ts), never on a request's path.
 *
 * Threat model: the receiver must get every row, in chain order, as the chain holds it, and
 * nothing may be skipped whatever fails. So: the rows are read from the object's own chain
 * after the cursor (the last seq the receiver answered 2xx for), one batch in flight per
 * tenant (this object's lease: a call that arrives meanwhile asks the running one to look
 * again, and returns), and the cursor moves only past a batch answered 2xx. Anything else
 * (a status, a redirect, which is never followed, a timeout, a network error) is a failure:
 * the cursor stays, the state records the status and a short summary (no token, no body
 * beyond it) and the next attempt waits out the backoff (./backoff.ts). A receiver may so
 * see a batch twice (duplicates allowed, identified by seq), never a gap.
 *
 * The owner's decisions come from D1 (./store.ts) before each run: a paused stream, or one
 * whose saver no longer grants it, delivers nothing; a new replay id moves the cursor back
 * once; any change of the row ends a backoff (the owner fixed the endpoint, say).
 */
import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client";
import { type AuditLog, auditLogs } from "../db/schema";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import type { AuditDb } from "../tenant-object/audit-store";
import { retryDelaySeconds } from "./backoff";
import { streamRequest } from "./presets";
import type { StreamState, StreamStateStore } from "./state";
import { loadStreamForDelivery } from "./store";
import { type AuditStream, auditStreams } from "./table";
import { openStreamToken, sealStreamToken } from "./token-box";

/** Rows per batch, and the bytes a batch's rows may take (one row always goes, however large). */
export const MAX_BATCH_ROWS = 100;
export const MAX_BATCH_BYTES = 256 * 1024;
/** Batches per call: a long backlog continues in the next queue message. */
export const BATCHES_PER_CALL = 10;
/** How long a receiver may take to answer a batch. */
export const DELIVERY_TIMEOUT_MS = 10_000;
const SUMMARY_LENGTH = 160;

export type DeliveryOutcome =
  | { kind: "idle"; why: "no stream" | "paused" | "stopped" }
  | { kind: "busy" }
  | { kind: "caught_up"; cursor: number }
  | { kind: "more"; cursor: number }
  | { kind: "waiting"; delaySeconds: number }
  | { kind: "failed"; delaySeconds: number; status: number | null };

export type DeliveryDeps = {
  audit: AuditDb;
  state: StreamStateStore;
  d1: () => Db;
  env: Pick<Bindings, "TOTP_ENCRYPTION_KEY">;
  /** Appends what D1's outbox holds to the chain first. */
  drain: (tenantId: string) => Promise<unknown>;
  fetch: typeof fetch;
};

type Sent = { ok: true } | { ok: false; status: number | null; summary: string };

export class StreamDelivery {
  private running = false;
  private again = false;

  constructor(private readonly deps: DeliveryDeps) {}

  /** Delivers from the cursor, at most BATCHES_PER_CALL batches; one call at a time per object. */
  async deliver(tenantId: string, nowMs: number): Promise<DeliveryOutcome> {
    if (this.running) {
      this.again = true;
      return { kind: "busy" };
    }
    this.running = true;
    try {
      let outcome: DeliveryOutcome;
      do {
        this.again = false;
        outcome = await this.run(tenantId, nowMs);
      } while (this.again && outcome.kind === "caught_up");
      return outcome;
    } finally {
      this.running = false;
    }
  }

  private async run(tenantId: string, nowMs: number): Promise<DeliveryOutcome> {
    await this.deps.drain(tenantId);
    const stream = await loadStreamForDelivery(this.deps.d1(), tenantId);
    let state = applyOwnerDecisions(this.deps.state.read(), stream);
    this.deps.state.write(state);
    if (!stream) return { kind: "idle", why: "no stream" };
    if (stream.paused) return { kind: "idle", why: "paused" };
    if (stream.stopped !== null) {
      this.deps.state.write({ ...state, lastError: `stopped: ${stream.stopped}`, lastErrorStatus: null, lastErrorAt: state.lastError?.startsWith("stopped:") ? state.lastErrorAt : nowMs });
      return { kind: "idle", why: "stopped" };
    }
    if (nowMs < state.nextAttemptAt) return { kind: "waiting", delaySeconds: Math.ceil((state.nextAttemptAt - nowMs) / 1000) };
    let token: string;
    try {
      token = await this.openToken(tenantId, stream);
    } catch (err) {
      log.error("audit stream token does not open", { tenantId, error: errorSummary(err) });
      return this.failed(state, nowMs, { ok: false, status: null, summary: "the token cannot be opened on this deployment (its key set); the operator has been told" });
    }
    for (let batch = 0; batch < BATCHES_PER_CALL; batch++) {
      const rows = nextBatch(this.deps.audit, state.cursor);
      const last = rows.at(-1);
      if (!last) return { kind: "caught_up", cursor: state.cursor };
      const sent = await post(this.deps.fetch, stream, token, tenantId, rows);
      if (!sent.ok) return this.failed(state, nowMs, sent);
      state = { ...state, cursor: last.seq, failures: 0, nextAttemptAt: 0, lastDeliveredAt: nowMs };
      this.deps.state.write(state);
    }
    return nextBatch(this.deps.audit, state.cursor).length === 0 ? { kind: "caught_up", cursor: state.cursor } : { kind: "more", cursor: state.cursor };
  }

  private failed(state: StreamState, nowMs: number, sent: Extract<Sent, { ok: false }>): DeliveryOutcome {
    const failures = state.failures + 1;
    const delaySeconds = retryDelaySeconds(failures);
    this.deps.state.write({ ...state, failures, nextAttemptAt: nowMs + delaySeconds * 1000, lastErrorStatus: sent.status, lastError: sent.summary, lastErrorAt: nowMs });
    return { kind: "failed", delaySeconds, status: sent.status };
  }

  /** The token, re-sealed under the current key when a previous one sealed it (a compare-and-set: a token saved meanwhile stays). */
  private async openToken(tenantId: string, stream: AuditStream): Promise<string> {
    const { token, stale } = await openStreamToken(this.deps.env, tenantId, stream.tokenEnc);
    if (stale) await resealStreamToken(this.deps.d1(), this.deps.env, stream, token);
    return token;
  }
}

/** Re-seals the stream's token under the current key unless the row's token changed meanwhile. */
export async function resealStreamToken(db: Db, env: Pick<Bindings, "TOTP_ENCRYPTION_KEY">, stream: AuditStream, token: string): Promise<boolean> {
  const write = await db
    .update(auditStreams)
    .set({ tokenEnc: await sealStreamToken(env, stream.tenantId, token) })
    .where(and(eq(auditStreams.id, stream.id), eq(auditStreams.tokenEnc, stream.tokenEnc)));
  return write.meta.changes === 1;
}

/** The state after the owner's decisions in D1: whether it is active, a backoff ended by a change, a replay applied once. */
export function applyOwnerDecisions(state: StreamState, stream: (AuditStream & { stopped: string | null }) | null): StreamState {
  if (!stream) return { ...state, active: false };
  let next: StreamState = { ...state, active: !stream.paused && stream.stopped === null };
  if (stream.updatedAt !== state.configSeen) next = { ...next, configSeen: stream.updatedAt, failures: 0, nextAttemptAt: 0 };
  if (stream.replayId !== state.appliedReplay) next = { ...next, appliedReplay: stream.replayId, cursor: stream.replayFromSeq - 1 };
  return next;
}

/** The rows after `cursor`, oldest first: at most MAX_BATCH_ROWS, and no more than MAX_BATCH_BYTES of them past the first. */
function nextBatch(audit: AuditDb, cursor: number): AuditLog[] {
  const rows = audit.select().from(auditLogs).where(gt(auditLogs.seq, cursor)).orderBy(asc(auditLogs.seq)).limit(MAX_BATCH_ROWS).all();
  let bytes = 0;
  const batch: AuditLog[] = [];
  for (const row of rows) {
    bytes += JSON.stringify(row).length;
    if (batch.length > 0 && bytes > MAX_BATCH_BYTES) break;
    batch.push(row);
  }
  return batch;
}

/** A short, single-line summary with the token (should a receiver echo it) blotted out. */
function summarise(text: string, token: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return (token.length > 0 ? flat.split(token).join("[token]") : flat).slice(0, SUMMARY_LENGTH);
}

/** Posts one batch: never follows a redirect, gives up after DELIVERY_TIMEOUT_MS. */
async function post(fetchFn: typeof fetch, stream: AuditStream, token: string, tenantId: string, rows: AuditLog[]): Promise<Sent> {
  const request = streamRequest(stream.preset, token, tenantId, rows);
  let res: Response;
  try {
    res = await fetchFn(stream.url, { method: "POST", headers: request.headers, body: request.body, redirect: "manual", signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { ok: false, status: null, summary: timedOut ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : summarise(`network error: ${errorSummary(err)}`, token) };
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel();
    return { ok: true };
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    return { ok: false, status: res.status, summary: `HTTP ${res.status}: a redirect, not followed (save the final URL)` };
  }
  const text = await res.text().catch(() => "");
  return { ok: false, status: res.status, summary: summarise(`HTTP ${res.status}${text ? `: ${text.slice(0, SUMMARY_LENGTH * 2)}` : ""}`, token) };
}
