import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { DeliveryOutcome } from "../src/audit-stream/deliver";
import type { StreamPreset } from "../src/audit-stream/vocabulary";
import { Harness, type SeededTenant, seedTenant } from "./helpers";

export const SIEM_URL = "https://siem.example/services/collector/event";
export const TOKEN = "siem-token-0123456789-abcdef-WXYZ";

export type Received = { url: string; headers: Headers; body: string; redirect: string; hasTimeout: boolean };

/**
 * A scripted receiver in place of the network: records every request the stream makes and
 * answers with `answer(n)` for the n-th (0-based) request: a status, or "network" for a
 * connection that fails.
 */
export function scriptedReceiver(answer: (n: number, request: Request) => number | "network" = () => 200) {
  const received: Received[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const n = received.length;
    received.push({ url: request.url, headers: request.headers, body: new TextDecoder().decode(await request.clone().arrayBuffer()), redirect: init?.redirect ?? "follow", hasTimeout: init?.signal instanceof AbortSignal });
    const status = answer(n, request);
    if (status === "network") throw new TypeError("Network connection lost.");
    return new Response(status >= 300 && status < 400 ? null : `answer ${status}`, { status, headers: status >= 300 && status < 400 ? { location: "https://elsewhere.example/" } : {} });
  });
  return received;
}

/** The rows a receiver was sent, in the order they arrived (every preset's shape read back as rows). */
export function rowsReceived(received: Received[]): { seq: number; hash: string; prevHash: string; [k: string]: unknown }[] {
  return received.flatMap(({ body }) => {
    const text = body.trim();
    if (text.startsWith("[")) return (JSON.parse(text) as { audit: never }[]).map((e) => e.audit);
    return text.split("\n").map((line) => {
      const value = JSON.parse(line);
      return value.sourcetype ? value.event : value;
    });
  });
}

/** The tenant's object delivering its stream at `nowMs`, as the queue's consumer asks it. */
export function deliver(tenantId: string, nowMs: number): Promise<DeliveryOutcome> {
  return env.TENANT.get(env.TENANT.idFromName(tenantId)).deliverAuditStream(tenantId, nowMs) as Promise<DeliveryOutcome>;
}

export type StreamView = {
  id: string;
  preset: StreamPreset;
  url: string;
  tokenHint: string;
  paused: boolean;
  state: {
    lastDeliveredSeq: number;
    headSeq: number;
    lag: number;
    failures: number;
    nextAttemptAt: string | null;
    lastError: { status: number | null; summary: string; at: string } | null;
  } | null;
};

/** A tenant whose owner is signed in, stepped up and has saved a stream (`preset`, SIEM_URL, TOKEN). */
export async function streamingTenant(h: Harness, preset: StreamPreset = "ndjson", label = "stream") {
  const t = await seedTenant(label);
  const owner = await h.session(t.owner);
  await h.stepUp(owner.cookie, "AUDIT_STREAM_CHANGE", t.owner);
  const saved = await h.call<{ stream: StreamView }>("/api/tenant/audit-stream", { method: "PUT", cookie: owner.cookie, body: { preset, url: SIEM_URL, token: TOKEN } });
  if (saved.status !== 201) throw new Error(`stream not saved: ${saved.status} ${JSON.stringify(saved.body)}`);
  return { t, owner, stream: saved.body.stream };
}

/** An owner's change to the stream, with a fresh step-up. */
export async function ownerChange<T = { stream: StreamView }>(h: Harness, t: SeededTenant, cookie: string, path: string, body?: unknown, method = "POST") {
  await h.stepUp(cookie, "AUDIT_STREAM_CHANGE", t.owner);
  return h.call<T>(path, { method, cookie, ...(body === undefined ? {} : { body }) });
}

/** `n` more audit events for the tenant, committed to D1's outbox as a change's would be (its object appends them on its next drain). */
export async function addAuditEvents(tenantId: string, n: number, nowMs: number): Promise<void> {
  const insert = env.DB.prepare("INSERT INTO audit_outbox (id, tenant_id, action, outcome, metadata, created_at) VALUES (?, ?, 'PROFILE_UPDATED', 'SUCCESS', ?, ?)");
  await env.DB.batch(Array.from({ length: n }, (_, i) => insert.bind(`aud_fill_${tenantId}_${nowMs}_${i}`, tenantId, JSON.stringify({ n: i }), nowMs)));
}
