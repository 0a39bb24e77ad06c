import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { Bindings } from "../src/env";
import { WEBHOOK_QUEUE, type WebhookPoke, consumeWebhooks } from "../src/webhooks/queue";
import { WEBHOOK_HEADERS } from "../src/webhooks/sign";

/** The receiver's address and a 32-byte secret, as an operator configures them. */
export const WEBHOOK_TEST_URL = "https://product.test/webhooks/gatehouse";
export const WEBHOOK_TEST_SECRET = `whsec_${btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i * 7 + 1)))}`;

export type Received = { id: string; timestamp: string; signature: string; body: string; payload: { type: string; timestamp: string; data: Record<string, unknown> } };

/** What the receiver answers to the n-th request (0-based): a status, or a thrown network error. */
export type Script = (n: number, request: Request) => number | "network-error" | Response;

type Mutable = Record<string, unknown>;

/**
 * Webhooks configured for the rest of the test (the tenants' objects read the same env):
 * delivery requests land in `pokes` instead of the real queue, and the receiver (global
 * fetch, as the object calls it) answers by `script` and records what it was sent; with
 * `receiverUrl`, deliveries go over the network to that receiver instead (nothing mocked).
 */
export function configureWebhooks(script: Script = () => 200, { receiverUrl }: { receiverUrl?: string } = {}) {
  const e = env as unknown as Mutable;
  const saved = { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET, queue: e.WEBHOOK_QUEUE };
  const pokes: WebhookPoke[] = [];
  e.WEBHOOK_URL = receiverUrl ?? WEBHOOK_TEST_URL;
  e.WEBHOOK_SECRET = WEBHOOK_TEST_SECRET;
  e.WEBHOOK_QUEUE = {
    send: async (body: WebhookPoke) => void pokes.push(body),
    sendBatch: async (messages: { body: WebhookPoke }[]) => void pokes.push(...messages.map((m) => m.body)),
  };
  const received: Received[] = [];
  const requests: Request[] = [];
  let n = 0;
  let current = script;
  if (!receiverUrl) vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    requests.push(request.clone());
    const answer = current(n++, request);
    if (answer === "network-error") throw new TypeError("Network connection lost");
    const body = await request.text();
    if (answer instanceof Response) return answer;
    if (answer >= 200 && answer < 300) {
      const h = request.headers;
      received.push({ id: h.get(WEBHOOK_HEADERS.id) ?? "", timestamp: h.get(WEBHOOK_HEADERS.timestamp) ?? "", signature: h.get(WEBHOOK_HEADERS.signature) ?? "", body, payload: JSON.parse(body) });
    }
    return new Response(null, { status: answer });
  });
  return {
    pokes,
    received,
    requests,
    /** The receiver answers by `next` from now on. */
    script(next: Script) {
      current = next;
    },
    restore() {
      e.WEBHOOK_URL = saved.url;
      e.WEBHOOK_SECRET = saved.secret;
      e.WEBHOOK_QUEUE = saved.queue;
    },
  };
}

export type QueueRun = { acked: number; retried: { tenantId: string; delaySeconds: number }[] };

/** Consumes `pokes` (emptied) as one batch of gatehouse-webhooks at `nowMs`; answers what the consumer did with each message. */
export async function runWebhookQueue(pokes: WebhookPoke[], nowMs: number): Promise<QueueRun> {
  const taken = pokes.splice(0, pokes.length);
  const batch = createMessageBatch<WebhookPoke>(WEBHOOK_QUEUE, taken.map((body, i) => ({ id: `m${i}`, timestamp: new Date(nowMs), attempts: 1, body })));
  // The test harness records which messages were retried, not their delay: each message's retry is watched.
  const delays = new Map<string, number>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.set(message.id, options?.delaySeconds ?? 0);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await consumeWebhooks(batch, env as Bindings, nowMs);
  const result = await getQueueResult(batch, ctx);
  const retried = result.retryMessages.map((r) => {
    const body = taken[Number(r.msgId.slice(1))] as WebhookPoke;
    return { tenantId: body.tenantId, delaySeconds: delays.get(r.msgId) ?? 0 };
  });
  return { acked: result.explicitAcks.length, retried };
}
