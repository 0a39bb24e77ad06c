/**
 * Verifying Gatehouse's product webhooks (Standard Webhooks, https://www.standardwebhooks.com):
 * `verifyWebhook(secret, headers, rawBody, { nowSeconds, toleranceSeconds })`.
 *
 * A receiver must:
 * - verify over the RAW body, exactly the bytes received (never a re-serialised JSON);
 * - refuse a `webhook-timestamp` further than the tolerance (default 5 minutes) from now in
 *   either direction: an old request replayed later is refused, even with a good signature;
 * - drop a `webhook-id` it has already processed (retries and replays resend the same id);
 *   the id is the audit event's id, and `data.seq` its place in the tenant's chain;
 * - answer 2xx only once it has kept the event (anything else is retried, for a day);
 * - never log the secret (`whsec_…`) or the signature header.
 * The signature is compared in constant time; several `v1,` signatures (space-separated, a
 * secret being rotated) are each compared, and any match is a pass.
 */

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookEvent = { id: string; type: string; timestamp: string; data: Record<string, unknown> };

export type WebhookVerified = { ok: true; event: WebhookEvent };
export type WebhookRefused = { ok: false; reason: "MISSING_HEADERS" | "BAD_SECRET" | "TIMESTAMP_OUT_OF_TOLERANCE" | "SIGNATURE_MISMATCH" | "MALFORMED_BODY" };

type HeaderSource = Headers | Record<string, string | undefined>;

const header = (headers: HeaderSource, name: string): string | null =>
  headers instanceof Headers ? headers.get(name) : (Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? null);

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Equal length and equal bytes, every byte looked at whatever the first difference. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export async function verifyWebhook(
  secret: string,
  headers: HeaderSource,
  rawBody: string | Uint8Array,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): Promise<WebhookVerified | WebhookRefused> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) return { ok: false, reason: "MISSING_HEADERS" };
  const key = secret.startsWith("whsec_") ? decodeBase64(secret.slice("whsec_".length)) : null;
  if (!key || key.byteLength < 24) return { ok: false, reason: "BAD_SECRET" };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  if (!/^[0-9]{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: "TIMESTAMP_OUT_OF_TOLERANCE" };
  const body = typeof rawBody === "string" ? new TextEncoder().encode(rawBody) : rawBody;
  const signed = new Uint8Array([...new TextEncoder().encode(`${id}.${timestamp}.`), ...body]);
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, signed));
  let match = false;
  for (const candidate of signatures.split(" ")) {
    const [version, value] = candidate.split(",", 2);
    const given = version === "v1" && value ? decodeBase64(value) : null;
    // Every candidate compared: no early exit that would tell which one matched.
    if (given && constantTimeEqual(given, expected)) match = true;
  }
  if (!match) return { ok: false, reason: "SIGNATURE_MISMATCH" };
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as Partial<WebhookEvent>;
    if (typeof parsed.type !== "string" || typeof parsed.timestamp !== "string" || parsed.data === null || typeof parsed.data !== "object") return { ok: false, reason: "MALFORMED_BODY" };
    return { ok: true, event: { id, type: parsed.type, timestamp: parsed.timestamp, data: parsed.data } };
  } catch {
    return { ok: false, reason: "MALFORMED_BODY" };
  }
}
