/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, "Signature scheme"): each
 * request carries `webhook-id` (the audit event's id: the same on every retry, so a
 * receiver drops one it has seen), `webhook-timestamp` (unix seconds of this attempt) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the key
 * being the bytes WEBHOOK_SECRET's base64 encodes. Receivers verify with any Standard
 * Webhooks library, or with @gatehouse/product's verifyWebhook (packages/product).
 */

export const WEBHOOK_HEADERS = { id: "webhook-id", timestamp: "webhook-timestamp", signature: "webhook-signature" } as const;

const encoder = new TextEncoder();

type NativeToBase64 = { toBase64(): string };

/** `v1,<base64 signature>` of one attempt. */
export async function signWebhook(key: Uint8Array, id: string, timestampSeconds: number, body: string): Promise<string> {
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, encoder.encode(`${id}.${timestampSeconds}.${body}`)));
  return `v1,${(mac as unknown as NativeToBase64).toBase64()}`;
}

/** The three headers of one attempt, with the JSON content type. */
export async function webhookHeaders(key: Uint8Array, id: string, nowMs: number, body: string): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    "content-type": "application/json",
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: await signWebhook(key, id, timestamp, body),
  };
}
