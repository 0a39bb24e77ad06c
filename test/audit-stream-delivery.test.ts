import { describe, expect, it } from "vitest";
import { MAX_RETRY_SECONDS, retryDelaySeconds } from "../src/audit-stream/backoff";
import { MAX_BATCH_ROWS } from "../src/audit-stream/deliver";
import { checkStreamCopy } from "../scripts/audit-stream-check.mjs";
import { auditRowsOf } from "./audit-store";
import { SIEM_URL, TOKEN, addAuditEvents, deliver, ownerChange, rowsReceived, scriptedReceiver, streamingTenant, type StreamView } from "./audit-stream-fixtures";
import { Harness } from "./helpers";

const seqs = (rows: { seq: number }[]) => rows.map((r) => r.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the audit stream's delivery", () => {
  it("delivers every row of the tenant's chain in seq order, each with seq, hash and prevHash, and the receiver's copy verifies offline", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h);
    const received = scriptedReceiver();
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "caught_up" });
    const chain = await auditRowsOf(t.id);
    const rows = rowsReceived(received);
    expect(seqs(rows)).toEqual(seqs(chain));
    expect(rows.map((r) => [r.seq, r.hash, r.prevHash])).toEqual(chain.map((r) => [r.seq, r.hash, r.prevHash]));
    expect(received.every((r) => r.url === SIEM_URL)).toBe(true);
    const verified = await checkStreamCopy(received.map((r) => r.body));
    expect(verified).toMatchObject({ ok: true, fromSeq: 1, toSeq: chain.at(-1)?.seq });
    // An edited row in the copy no longer verifies.
    const tampered = received.map((r) => r.body.replace('"outcome":"SUCCESS"', '"outcome":"FAIL"'));
    expect(await checkStreamCopy(tampered)).toMatchObject({ ok: false, reason: "HASH" });
  });

  it("a receiver that fails and then recovers gets every row, duplicates allowed, and the cursor never passes an unacknowledged batch", async () => {
    const h = new Harness();
    const { t, owner } = await streamingTenant(h);
    // More rows than one batch holds: the first batch is accepted, then the receiver is down for three attempts.
    await addAuditEvents(t.id, MAX_BATCH_ROWS, h.clock.ms);
    const head = (await auditRowsOf(t.id)).at(-1)?.seq ?? 0;
    expect(head).toBeGreaterThan(MAX_BATCH_ROWS);
    const answers: (number | "network")[] = [200, 503, "network", 500];
    const received = scriptedReceiver((n) => answers[n] ?? 200);
    const first = await deliver(t.id, h.clock.ms);
    expect(first).toMatchObject({ kind: "failed", status: 503 });
    const afterFirst = await h.call<{ stream: StreamView }>("/api/tenant/audit-stream", { cookie: owner.cookie });
    expect(afterFirst.body.stream.state?.lastDeliveredSeq).toBe(MAX_BATCH_ROWS);
    for (const failures of [1, 2]) {
      h.clock.advanceSeconds(retryDelaySeconds(failures));
      expect((await deliver(t.id, h.clock.ms)).kind).toBe("failed");
      expect((await h.call<{ stream: StreamView }>("/api/tenant/audit-stream", { cookie: owner.cookie })).body.stream.state?.lastDeliveredSeq).toBe(MAX_BATCH_ROWS);
    }
    h.clock.advanceSeconds(retryDelaySeconds(3));
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "caught_up" });
    const rows = rowsReceived(received);
    expect([...new Set(seqs(rows))]).toEqual(range(1, (await auditRowsOf(t.id)).at(-1)?.seq ?? 0));
    // The batch after the cursor was sent on each attempt: the same rows, never a later one first.
    expect(received.slice(1).map((r) => rowsReceived([r])[0]?.seq)).toEqual([MAX_BATCH_ROWS + 1, MAX_BATCH_ROWS + 1, MAX_BATCH_ROWS + 1, MAX_BATCH_ROWS + 1]);
    expect(await checkStreamCopy(received.filter((_, n) => answers[n] === 200 || n >= answers.length).map((r) => r.body))).toMatchObject({ ok: true });
  });

  it("a failed delivery waits out an exponential backoff, and the state records the status and a summary without the token", async () => {
    const h = new Harness();
    const { t, owner } = await streamingTenant(h);
    const received = scriptedReceiver(() => 401);
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "failed", delaySeconds: retryDelaySeconds(1), status: 401 });
    // Within the backoff nothing is sent.
    h.clock.advanceSeconds(retryDelaySeconds(1) - 1);
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "waiting", delaySeconds: 1 });
    expect(received).toHaveLength(1);
    h.clock.advanceSeconds(1);
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "failed", delaySeconds: retryDelaySeconds(2) });
    const state = (await h.call<{ stream: StreamView }>("/api/tenant/audit-stream", { cookie: owner.cookie })).body.stream.state;
    expect(state).toMatchObject({ lastDeliveredSeq: 0, failures: 2, lastError: { status: 401, summary: "HTTP 401: answer 401" } });
    expect(JSON.stringify(state)).not.toContain(TOKEN);
  });

  it("the retry delay doubles from 10 seconds and never exceeds an hour", () => {
    expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([10, 20, 40, 80]);
    expect(retryDelaySeconds(9)).toBe(2560);
    expect(retryDelaySeconds(10)).toBe(MAX_RETRY_SECONDS);
    expect(retryDelaySeconds(1000)).toBe(MAX_RETRY_SECONDS);
  });

  it("pausing stops delivery, resuming continues from the cursor, and a replay re-sends from the seq asked for", async () => {
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h);
    const received = scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const delivered = rowsReceived(received).length;
    const paused = await ownerChange(h, t, owner.cookie, `/api/tenant/audit-stream/${stream.id}/pause`);
    expect(paused.status).toBe(200);
    expect(await deliver(t.id, h.clock.ms)).toEqual({ kind: "idle", why: "paused" });
    expect(received).toHaveLength(1);
    const resumed = await ownerChange(h, t, owner.cookie, `/api/tenant/audit-stream/${stream.id}/resume`);
    expect(resumed.status).toBe(200);
    await deliver(t.id, h.clock.ms);
    const afterResume = rowsReceived(received.slice(1));
    // From the row after the cursor: what was written while paused (the pause, the step-up, the resume), nothing twice.
    expect(afterResume[0]?.seq).toBe(delivered + 1);
    const replayed = await ownerChange(h, t, owner.cookie, `/api/tenant/audit-stream/${stream.id}/replay`, { fromSeq: 3 });
    expect(replayed.status).toBe(200);
    const before = received.length;
    await deliver(t.id, h.clock.ms);
    const again = rowsReceived(received.slice(before));
    expect(again[0]?.seq).toBe(3);
    expect(seqs(again)).toEqual(range(3, (await auditRowsOf(t.id)).at(-1)?.seq ?? 0));
  });

  it("a redirect is a failed delivery and is never followed; every request has a bounded timeout", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h);
    const received = scriptedReceiver(() => 307);
    expect(await deliver(t.id, h.clock.ms)).toMatchObject({ kind: "failed", status: 307 });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ redirect: "manual", hasTimeout: true });
  });

  it("batches are bounded: at most MAX_BATCH_ROWS rows each, in order", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h);
    await addAuditEvents(t.id, 2 * MAX_BATCH_ROWS + 5, h.clock.ms);
    const received = scriptedReceiver();
    await deliver(t.id, h.clock.ms);
    const sizes = received.map((r) => rowsReceived([r]).length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_ROWS);
    expect(seqs(rowsReceived(received))).toEqual(seqs(await auditRowsOf(t.id)));
  });
});
