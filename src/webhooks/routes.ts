/**
 * The operator's view of dead-lettered webhooks (`/api/operator/webhooks`, behind the operator
 * token, src/operator/auth.ts): list them, and replay one or all (of a tenant, or everywhere).
 * A replay only marks the letters and queues a delivery request for each tenant: the tenant's
 * object sends them (./delivery.ts), never this request. Marking changes no tenant and
 * writes no audit event (like the audit migration): the webhook it resends is the record.
 * If queueing fails after the mark, the answer says so (`queued: false`) and a second
 * replay queues them again: the mark is idempotent.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { errorSummary, log } from "../lib/log";
import { idSchema } from "../lib/schemas";
import { validate } from "../lib/validation";
import { z } from "../lib/zod";
import { answers } from "../openapi/notes";
import { DEAD_LETTER_PAGE, type WebhookDeadLetter, listDeadLetters, requestReplay } from "./dead-letters";
import type { WebhookPoke } from "./queue";
import { sendPokes, webhooksOn } from "./queue";

const listQuery = z.strictObject({ tenantId: idSchema.optional(), limit: z.coerce.number().int().min(1).max(DEAD_LETTER_PAGE).optional() });
const eventParam = z.strictObject({ eventId: idSchema });
const replayAllBody = z.strictObject({ tenantId: idSchema.optional() });

function toView(l: WebhookDeadLetter) {
  return {
    eventId: l.eventId,
    tenantId: l.tenantId,
    seq: l.seq,
    type: l.type,
    attempts: l.attempts,
    firstFailedAt: new Date(l.firstFailedAt).toISOString(),
    deadAt: new Date(l.deadAt).toISOString(),
    lastError: l.lastError,
    replayRequestedAt: l.replayRequestedAt === null ? null : new Date(l.replayRequestedAt).toISOString(),
    payload: JSON.parse(l.body) as unknown,
  };
}

/** Marks, then queues one delivery request per tenant marked. */
async function replay(c: Context<AppEnv>, which: { eventId: string } | { tenantId?: string }) {
  const queue = c.env.WEBHOOK_QUEUE;
  if (!webhooksOn(c.env) || !queue) throw new ApiError(503, "WEBHOOKS_OFF", "Product webhooks are not configured here; nothing was replayed");
  const marked = await requestReplay(c.var.db, which, c.get("now"));
  if ("eventId" in which && marked.length === 0) throw new ApiError(404, "WEBHOOK_DEAD_LETTER_NOT_FOUND", "No dead-lettered webhook has this event id");
  let queued = true;
  try {
    await sendPokes(queue, marked.map(({ tenantId }) => ({ kind: "deliver", tenantId, replay: true }) satisfies WebhookPoke));
  } catch (err) {
    queued = false;
    log.error("webhook replay not queued; replay again", { error: errorSummary(err) });
  }
  return { replayRequested: marked.reduce((n, t) => n + t.count, 0), tenants: marked.length, queued };
}

/** Mounted by the operator API (src/operator/routes.ts) at /webhooks, behind its token. */
export const webhookOperatorRoutes = new Hono<AppEnv>()
  .get("/dead-letters", validate("query", listQuery), async (c) => {
    const { tenantId, limit = DEAD_LETTER_PAGE } = c.req.valid("query");
    const rows = await listDeadLetters(c.var.db, { ...(tenantId ? { tenantId } : {}), limit });
    return c.json({ deadLetters: rows.map(toView) });
  })
  .post("/dead-letters/replay", validate("json", replayAllBody), answers("WEBHOOKS_OFF"), async (c) => c.json(await replay(c, c.req.valid("json"))))
  .post("/dead-letters/:eventId/replay", validate("param", eventParam), answers("WEBHOOK_DEAD_LETTER_NOT_FOUND", "WEBHOOKS_OFF"), async (c) =>
    c.json(await replay(c, { eventId: c.req.valid("param").eventId })),
  );
