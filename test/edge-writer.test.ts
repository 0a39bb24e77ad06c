/**
 * The serial writer of a tenant's edge document (src/tenant-object/edge-writer.ts), driven
 * on a clock of its own: a KV that refuses a second write of a key within a second, as
 * production does, an object storage whose alarm fires at its time (never early), and a
 * "D1" whose document counts the changes committed so far.
 */
import { describe, expect, it } from "vitest";
import type { TenantEdgeState } from "../src/edge-document/document";
import { EdgeWriter, WRITE_SPACING_MS } from "../src/tenant-object/edge-writer";

/** The document a build returns: its `overflowUntil` carries how many changes D1 had committed. */
const docWith = (tenantId: string, committed: number) => ({ tenantId, overflowUntil: committed }) as unknown as TenantEdgeState;

/** One tenant's object: its storage (kept across restarts), a refusing KV, and the clock. */
class World {
  nowMs = 1_000_000;
  committed = 0;
  readonly stored = new Map<string, unknown>();
  alarmAt: number | null = null;
  readonly kvWrites: { atMs: number; covers: number }[] = [];
  kvRefusals = 0;
  kvDown = false;
  /** While set, a build waits for it (a change can be told meanwhile). */
  buildGate: Promise<void> | null = null;
  /** Called when a build has read D1. */
  onBuild = () => {};

  readonly storage = {
    get: async <T>(key: string) => this.stored.get(key) as T | undefined,
    put: async (key: string, value: unknown) => void this.stored.set(key, structuredClone(value)),
    getAlarm: async () => this.alarmAt,
    setAlarm: async (at: number | Date) => void (this.alarmAt = typeof at === "number" ? at : at.getTime()),
  } as unknown as DurableObjectStorage;

  /** A fresh object over the same storage: what a restart (or eviction) leaves. */
  object(): EdgeWriter {
    return new EdgeWriter({
      storage: this.storage,
      realNowMs: () => this.nowMs,
      build: async (tenantId) => {
        const committed = this.committed;
        this.onBuild();
        if (this.buildGate) await this.buildGate;
        return docWith(tenantId, committed);
      },
      write: async (doc) => {
        const last = this.kvWrites.at(-1);
        if (this.kvDown || (last && this.nowMs - last.atMs < 1000)) {
          this.kvRefusals++;
          throw new Error("KV PUT failed: 429 Too Many Requests");
        }
        this.kvWrites.push({ atMs: this.nowMs, covers: doc.overflowUntil });
      },
    });
  }

  /** A change commits in D1, then the object is told of it. */
  async change(writer: EdgeWriter): Promise<void> {
    this.committed++;
    await writer.told("ten_a", this.nowMs);
  }

  /** Moves the clock on by `ms`, running the alarm whenever its time comes (as the platform does). */
  async advance(writer: EdgeWriter, ms: number): Promise<void> {
    const until = this.nowMs + ms;
    // A writer that never waits would run its alarm forever within one instant: fail instead.
    for (let runs = 0; this.alarmAt !== null && this.alarmAt <= until; runs++) {
      if (runs > 10_000) throw new Error("the alarm keeps firing without the clock moving");
      this.nowMs = Math.max(this.nowMs, this.alarmAt);
      this.alarmAt = null;
      await writer.flush();
    }
    this.nowMs = until;
  }
}

/** A change committed and its write begun, held in its build (D1 read) until the answer is called, which lets it finish. */
async function writeHeldInBuild(world: World, writer: EdgeWriter): Promise<() => Promise<void>> {
  let release = () => {};
  world.buildGate = new Promise((r) => (release = r));
  await world.change(writer);
  world.alarmAt = null;
  const built = new Promise<void>((r) => (world.onBuild = r));
  const flushing = writer.flush();
  await built;
  return async () => {
    world.buildGate = null;
    release();
    await flushing;
  };
}

describe("the tenant's object writes its edge document", () => {
  it("at most once a second, under a KV that refuses a second write within a second: no write is refused and no change is lost", async () => {
    const world = new World();
    const writer = world.object();
    // 300 changes over 3 s (one every 10 ms), then quiet.
    for (let i = 0; i < 300; i++) {
      await world.change(writer);
      await world.advance(writer, 10);
    }
    await world.advance(writer, 5_000);
    expect(world.kvRefusals).toBe(0);
    for (const [i, w] of world.kvWrites.entries()) if (i > 0) expect(w.atMs - world.kvWrites[i - 1]!.atMs).toBeGreaterThanOrEqual(WRITE_SPACING_MS);
    expect(world.kvWrites.length).toBeLessThanOrEqual(5);
    expect(world.kvWrites.at(-1)?.covers).toBe(300);
  });

  it("a change is written within a second of being told, when the last write was a second or more ago", async () => {
    const world = new World();
    const writer = world.object();
    await world.change(writer);
    await world.advance(writer, 0);
    expect(world.kvWrites).toEqual([{ atMs: 1_000_000, covers: 1 }]);
    await world.advance(writer, 400);
    await world.change(writer); // 400 ms after the last write: written when the second is up
    await world.advance(writer, 599);
    expect(world.kvWrites).toHaveLength(1);
    await world.advance(writer, 1);
    expect(world.kvWrites.at(-1)).toEqual({ atMs: 1_001_000, covers: 2 });
  });

  it("a change told while a write is under way is written by the next write, a second after the first began", async () => {
    const world = new World();
    const writer = world.object();
    const finish = await writeHeldInBuild(world, writer); // builds with 1 change committed, then waits
    await world.change(writer); // told meanwhile
    await finish();
    expect(world.kvWrites).toEqual([{ atMs: 1_000_000, covers: 1 }]);
    expect(world.alarmAt).toBe(1_000_000 + WRITE_SPACING_MS);
    await world.advance(writer, WRITE_SPACING_MS);
    expect(world.kvWrites.at(-1)).toEqual({ atMs: 1_001_000, covers: 2 });
  });

  it("a write whose build took longer than the next one's is still a second apart from it at KV: the spacing counts from each put", async () => {
    const world = new World();
    const writer = world.object();
    const finish = await writeHeldInBuild(world, writer); // begins at 1_000_000, its build reading D1 for 600 ms
    world.nowMs += 600;
    await world.change(writer); // told while the build runs: due a second after the write
    await finish();
    expect(world.kvWrites).toEqual([{ atMs: 1_000_600, covers: 1 }]);
    await world.advance(writer, 2000); // the next build is instant
    expect(world.kvRefusals).toBe(0);
    expect(world.kvWrites).toEqual([
      { atMs: 1_000_600, covers: 1 },
      { atMs: 1_001_600, covers: 2 },
    ]);
  });

  it("an object restarted after acknowledging a change loses nothing: the change is stored before it is acknowledged", async () => {
    const world = new World();
    await world.change(world.object());
    // The object is evicted before its alarm; a new instance over the same storage runs it.
    await world.advance(world.object(), 0);
    expect(world.kvWrites).toEqual([{ atMs: 1_000_000, covers: 1 }]);
  });

  it("an object restarted in the middle of a write writes again: the change is covered only once a write succeeded", async () => {
    const world = new World();
    const first = world.object();
    await world.change(first);
    world.alarmAt = null;
    world.buildGate = new Promise(() => {}); // the first write never ends: the object dies in it
    const built = new Promise<void>((r) => (world.onBuild = r));
    void first.flush();
    await built; // it is in its build (its state stored), and stays there
    world.onBuild = () => {};
    world.buildGate = null;
    // The platform retries the alarm of an object that died in it.
    world.alarmAt = world.nowMs + WRITE_SPACING_MS;
    await world.advance(world.object(), WRITE_SPACING_MS);
    expect(world.kvWrites).toEqual([{ atMs: 1_001_000, covers: 1 }]);
  });

  it("a write KV refuses, or a build D1 fails, is tried again after a growing pause until it lands", async () => {
    const world = new World();
    const writer = world.object();
    world.kvDown = true;
    await world.change(writer);
    await world.advance(writer, 60_000);
    const attempts = world.kvRefusals;
    expect(attempts).toBeGreaterThan(2);
    expect(attempts).toBeLessThan(10); // the pause grows: not 60 attempts in 60 s
    world.kvDown = false;
    await world.advance(writer, 30_000);
    expect(world.kvWrites.at(-1)?.covers).toBe(1);
    expect(world.alarmAt).toBeNull(); // nothing left to write
  });
});
