/**
 * The webhooks' Cloudflare Queue (wrangler.toml: WEBHOOK_QUEUE, queue gatehouse-webhooks,
 * consumed by this Worker, src/worker.ts). A message carries no event, only which tenant
 * has some to deliver: `{ kind: "deliver", tenantId, replay? }`. The events stay in the
 * tenant's chain and its object delivers them in order from its cursor (./delivery.ts), so
 * a lost or duplicated message loses or duplicates nothing. Delivery never happens on a
 * request's path: a drain that appended rows sends the message (pokeAfterAppend), the
 * consumer calls the object.
 *
 * A delivery request the queue refuses is noted in D1 (`webhook_pokes_owed`), and the
 * hourly cron sends it again (sendOwedPokes): an event committed in a tenant that then
 * writes nothing more still goes out within the hour.
 *
 * A refused delivery is retried by the queue (`message.retry` with ./schedule.ts's delay);
 * a message that exhausts the queue's own retries (the object could not be reached for all
 * of them) goes to the queue's dead-letter queue (gatehouse-webhooks-dead), whose consumer
 * sends it back an hour later: its events still wait behind the object's cursor.
 */
import { inArray } from "drizzle-orm";
import { createDb } from "../db/client";
import type { Bindings } from "../env";
import { errorSummary, log } from "../lib/log";
import { type Infer, z } from "../lib/zod";
import type { TenantObject } from "../tenant-object/object";
import { tenantObject } from "../tenant-object/stub";
import { WebhookConfigError, webhookConfig } from "./config";
import type { DeliveryOutcome, WebhookDelivery } from "./delivery";
import { retryDelaySeconds } from "./schedule";
import { webhookPokesOwed } from "./schema";

export const WEBHOOK_QUEUE = "gatehouse-webhooks";
export const WEBHOOK_DEAD_QUEUE = "gatehouse-webhooks-dead";
/** How long a message from the dead-letter queue waits before it goes back. */
const DEAD_POKE_DELAY_SECONDS = 60 * 60;

const pokeSchema = z.strictObject({ kind: z.literal("deliver"), tenantId: z.string().min(1).max(128), replay: z.boolean().optional() });
export type WebhookPoke = Infer<typeof pokeSchema>;

/** Which of the webhook queues `name` is (each environment names its own, e.g. gatehouse-webhooks-staging), or null. */
export function webhookQueueRole(name: string): "deliver" | "dead" | null {
  const match = /^gatehouse-webhooks(-dead)?(?:-[a-z0-9]+)?$/.exec(name);
  if (!match) return null;
  return match[1] ? "dead" : "deliver";
}

/** Whether webhooks are on for `env`: read again (uncached), as the object reads it; a bad value is off, and logged. */
export function webhooksOn(env: Bindings) {
  try {
    return webhookConfig(env);
  } catch (err) {
    if (!(err instanceof WebhookConfigError)) throw err;
    log.error("webhooks off: configuration invalid", { problem: err.message });
    return null;
  }
}

/**
 * After a drain appended rows to the tenant's chain, news after `newsAfter`: nothing when
 * webhooks are off; else the cursor starts if it has not, and the queue is told. A send that
 * fails is logged: the tenant's next append tells it again, and the delivery it starts
 * takes every row after the cursor.
 */
export async function pokeAfterAppend(env: Bindings, delivery: WebhookDelivery, tenantId: string, newsAfter: number): Promise<void> {
  if (!webhooksOn(env)) return;
  delivery.noteAppended(newsAfter);
  if (!env.WEBHOOK_QUEUE) {
    log.error("webhooks configured but the WEBHOOK_QUEUE binding is missing", { tenantId });
    return;
  }
  try {
    await env.WEBHOOK_QUEUE.send({ kind: "deliver", tenantId } satisfies WebhookPoke);
  } catch (err) {
    log.warn("webhook delivery not queued; the hourly cron queues it", { tenantId, error: errorSummary(err) });
    await createDb(env.DB)
      .insert(webhookPokesOwed)
      .values({ tenantId, since: Date.now() })
      .onConflictDoNothing()
      .catch((dbErr: unknown) => log.error("webhook delivery neither queued nor noted; the tenant's next append queues it", { tenantId, error: errorSummary(dbErr) }));
  }
}

/** Queues' sendBatch takes at most 100 messages: `pokes` sent in batches of that size. */
export async function sendPokes(queue: Queue, pokes: readonly WebhookPoke[]): Promise<void> {
  for (let i = 0; i < pokes.length; i += 100) await queue.sendBatch(pokes.slice(i, i + 100).map((body) => ({ body })));
}

/** Tenants a cron run queues at most (their ids are bound in one D1 statement: fewer than 100). */
const OWED_PER_RUN = 90;

/** The hourly cron's part: each tenant whose delivery request could not be queued gets it now, and leaves the list. */
export async function sendOwedPokes(env: Bindings): Promise<{ queued: number }> {
  if (!env.WEBHOOK_QUEUE || !webhooksOn(env)) return { queued: 0 };
  const db = createDb(env.DB);
  const owed = await db.select({ tenantId: webhookPokesOwed.tenantId }).from(webhookPokesOwed).limit(OWED_PER_RUN);
  if (owed.length === 0) return { queued: 0 };
  await sendPokes(env.WEBHOOK_QUEUE, owed.map(({ tenantId }) => ({ kind: "deliver", tenantId }) satisfies WebhookPoke));
  await db.delete(webhookPokesOwed).where(inArray(webhookPokesOwed.tenantId, owed.map((o) => o.tenantId)));
  return { queued: owed.length };
}

type WebhookObject = Pick<TenantObject, "deliverWebhooks">;

/** One batch of gatehouse-webhooks: each tenant's object called once, its message acked or retried on the schedule. */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Bindings, nowMs: number = Date.now()): Promise<void> {
  const seen = new Map<string, { message: Message<unknown>; poke: WebhookPoke }>();
  for (const message of batch.messages) {
    const poke = pokeSchema.safeParse(message.body);
    if (!poke.success) {
      log.error("webhook queue message refused: not a delivery request", { queue: batch.queue });
      message.ack();
      continue;
    }
    // One call per tenant: a second message of the batch is the same work (a replay asked in either counts).
    const first = seen.get(poke.data.tenantId);
    if (first) {
      message.ack();
      if (poke.data.replay) first.poke = { ...first.poke, replay: true };
      continue;
    }
    seen.set(poke.data.tenantId, { message, poke: poke.data });
  }
  for (const { message, poke } of seen.values()) {
    let outcome: DeliveryOutcome;
    try {
      const object = tenantObject(env, poke.tenantId) as unknown as WebhookObject;
      outcome = await object.deliverWebhooks(poke.tenantId, nowMs, { replays: poke.replay === true });
    } catch (err) {
      log.warn("webhook delivery call failed; retried", { tenantId: poke.tenantId, error: errorSummary(err) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      continue;
    }
    await settle(env, message, poke, outcome);
  }
}

async function settle(env: Bindings, message: Message<unknown>, poke: WebhookPoke, outcome: DeliveryOutcome): Promise<void> {
  if (outcome.kind === "retry") {
    message.retry({ delaySeconds: outcome.delaySeconds });
    return;
  }
  if (outcome.kind === "more") {
    // Each message only says "deliver": the rest goes in a new one, this one is done.
    try {
      await env.WEBHOOK_QUEUE?.send({ kind: "deliver", tenantId: poke.tenantId } satisfies WebhookPoke);
    } catch (err) {
      log.warn("webhook continuation not queued; retried", { tenantId: poke.tenantId, error: errorSummary(err) });
      message.retry({ delaySeconds: 0 });
      return;
    }
  }
  message.ack();
}

/** The dead-letter queue: a delivery request whose retries ran out goes back, an hour later. */
export async function consumeDeadWebhookPokes(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    const poke = pokeSchema.safeParse(message.body);
    if (!poke.success) {
      message.ack();
      continue;
    }
    log.error("webhook delivery request exhausted its retries; sent back in an hour", { tenantId: poke.data.tenantId });
    try {
      await env.WEBHOOK_QUEUE?.send(poke.data, { delaySeconds: DEAD_POKE_DELAY_SECONDS });
      message.ack();
    } catch (err) {
      log.error("webhook delivery request not sent back; retried", { tenantId: poke.data.tenantId, error: errorSummary(err) });
      message.retry({ delaySeconds: DEAD_POKE_DELAY_SECONDS });
    }
  }
}

/** The queue handler's part for the webhook queues (src/worker.ts dispatches by name); false when `batch` is another queue's. */
export async function consumeWebhookQueue(batch: MessageBatch<unknown>, env: Bindings): Promise<boolean> {
  const role = webhookQueueRole(batch.queue);
  if (role === "deliver") await consumeWebhooks(batch, env);
  else if (role === "dead") await consumeDeadWebhookPokes(batch, env);
  return role !== null;
}
