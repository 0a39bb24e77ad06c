import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { METRIC_EVENTS, METRIC_OUTCOMES } from "../src/lib/metric-names";
import { Harness, PASSWORD, seedTenant, withEnv } from "./helpers";

type DataPoint = { indexes: string[]; blobs: string[]; doubles: number[] };

/** A test double of the Analytics Engine binding: it keeps what is written. */
function recordingDataset(): { dataset: AnalyticsEngineDataset; points: DataPoint[] } {
  const points: DataPoint[] = [];
  const dataset = { writeDataPoint: (point: AnalyticsEngineDataPoint) => void points.push(point as DataPoint) } as AnalyticsEngineDataset;
  return { dataset, points };
}

/** [event, outcome, reason] of each data point, checked against the one vocabulary. */
function counted(points: DataPoint[]): [string, string, string][] {
  return points.map((p) => {
    const [event, outcome, reason] = p.blobs;
    expect(METRIC_EVENTS).toContain(event);
    expect(METRIC_OUTCOMES).toContain(outcome);
    expect(p.indexes).toEqual([event]);
    expect(p.doubles).toEqual([1]);
    return [event!, outcome!, reason!];
  });
}

describe("sign-in and step-up outcomes are counted (Workers Analytics Engine)", () => {
  it("a successful sign-in writes one sign_in success data point", async () => {
    const { dataset, points } = recordingDataset();
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ METRICS: dataset }) });
    expect(counted(points)).toEqual([["sign_in", "success", ""]]);
  });

  it("a failed sign-in writes a sign_in failure data point with its reason, unknown emails included", async () => {
    const { dataset, points } = recordingDataset();
    const h = new Harness();
    const t = await seedTenant();
    const metricsEnv = withEnv({ METRICS: dataset });
    expect((await h.call("/api/auth/login", { body: { email: t.member.email, password: "wrong password" }, env: metricsEnv })).status).toBe(401);
    expect((await h.call("/api/auth/login", { body: { email: "nobody@nowhere.test", password: "wrong password" }, env: metricsEnv })).status).toBe(401);
    expect(counted(points)).toEqual([
      ["sign_in", "failure", "INVALID_PASSWORD"],
      ["sign_in", "failure", "UNKNOWN_EMAIL"],
    ]);
  });

  it("a throttled sign-in writes a sign_in throttled data point", async () => {
    const { dataset, points } = recordingDataset();
    const h = new Harness();
    const t = await seedTenant();
    const metricsEnv = withEnv({ METRICS: dataset });
    let status = 0;
    for (let i = 0; i < 11 && status !== 429; i++) status = (await h.call("/api/auth/login", { body: { email: t.member.email, password: "wrong password" }, env: metricsEnv })).status;
    expect(status).toBe(429);
    expect(counted(points).at(-1)).toEqual(["sign_in", "throttled", "TOO_MANY_ATTEMPTS"]);
    expect(counted(points).slice(0, -1).every(([, outcome]) => outcome === "failure")).toBe(true);
  });

  it("step-up writes step_up data points: success, failure with its reason, and throttled once locked", async () => {
    const { dataset, points } = recordingDataset();
    const h = new Harness();
    const t = await seedTenant();
    const { cookie } = await h.session(t.admin);
    const metricsEnv = withEnv({ METRICS: dataset });
    const verify = (code: string) => h.call("/api/security/stepup/verify", { cookie, body: { purpose: "FORCE_LOGOUT", code }, env: metricsEnv });
    h.clock.advanceSeconds(30);
    expect((await verify(h.code(t.admin))).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await verify("000000")).status).toBe(401);
    expect((await verify("000000")).status).toBe(429);
    expect(counted(points)).toEqual([
      ["step_up", "success", ""],
      ...Array.from({ length: 5 }, () => ["step_up", "failure", "INVALID_OTP"]),
      ["step_up", "throttled", "LOCKED_OUT"],
    ]);
  });

  it("without the METRICS binding sign-in works and writes nothing; a failing binding never changes an answer", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ METRICS: undefined }) });
    const throwing = {
      writeDataPoint: () => {
        throw new Error("Analytics Engine unavailable");
      },
    } as AnalyticsEngineDataset;
    await h.login(t.member.email, PASSWORD, {}, { env: withEnv({ METRICS: throwing }) });
    expect(env.METRICS).toBeDefined(); // local mode simulates the binding declared in wrangler.toml
  });
});

describe("the documented dashboard queries", () => {
  const DOCS = import.meta.glob<string>("../docs/operations.md", { query: "?raw", import: "default", eager: true });
  const CONFIG = import.meta.glob<string>("../wrangler.toml", { query: "?raw", import: "default", eager: true });

  it("every example query reads a dataset that a deployed environment writes", () => {
    const docs = Object.values(DOCS)[0] ?? "";
    const toml = Object.values(CONFIG)[0] ?? "";
    const written = new Set([...toml.matchAll(/\[\[env\.\w+\.analytics_engine_datasets\]\][^[]*?dataset = "([^"]+)"/g)].map((m) => m[1]));
    const read = [...docs.matchAll(/^FROM (\w+)/gm)].map((m) => m[1]);
    expect(written.size).toBeGreaterThan(0);
    expect(read.length).toBeGreaterThan(0);
    for (const dataset of read) expect(written).toContain(dataset);
  });
});
