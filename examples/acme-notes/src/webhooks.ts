/**
 * Gatehouse's product webhooks, received (docs/webhooks.md): each POST is verified with
 * @gatehouse/product's verifyWebhook over its raw body (the signature, the timestamp within
 * five minutes), an event id already kept is dropped (retries and replays resend the same
 * `webhook-id`), and the last few events are kept per tenant in the isolate's memory, for
 * the app page to show to that tenant's members only. The tenant is the one the signed
 * body names (`data.tenantId`).
 */
import type { WebhookEvent } from "../../../packages/product/src/index";

export const EVENTS_KEPT_PER_TENANT = 10;
/** Larger bodies are refused unread: Gatehouse's events are a few hundred bytes. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

export class WebhookInbox {
  private readonly byTenant = new Map<string, WebhookEvent[]>();

  /** Newest first. */
  list(tenantId: string): WebhookEvent[] {
    return [...(this.byTenant.get(tenantId) ?? [])];
  }

  /** False when this event id was kept already (a duplicate delivery). */
  add(event: WebhookEvent): boolean {
    const tenantId = typeof event.data.tenantId === "string" ? event.data.tenantId : null;
    if (!tenantId) return false;
    const kept = this.byTenant.get(tenantId) ?? [];
    if (kept.some((e) => e.id === event.id)) return false;
    this.byTenant.set(tenantId, [event, ...kept].slice(0, EVENTS_KEPT_PER_TENANT));
    return true;
  }
}
