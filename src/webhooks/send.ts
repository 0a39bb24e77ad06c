/**
 * One signed POST of one webhook to WEBHOOK_URL (./sign.ts for the headers).
 *
 * Threat model: the body goes to the configured URL and nowhere else. A redirect is never
 * followed (it would re-send the signed body wherever the answer points) and counts as a
 * failed attempt; an attempt is bounded in time; the answer's body is discarded, and a
 * failure is summarised by its status or error name only. Neither the secret nor a
 * signature is ever logged.
 */
import { errorSummary } from "../lib/log";
import type { WebhookConfig } from "./config";
import { webhookHeaders } from "./sign";

export const DELIVERY_TIMEOUT_MS = 10_000;

export type Attempt = { ok: true } | { ok: false; error: string };

/** Sends one webhook (`id`, `body`) signed at `nowMs`; answers whether the receiver took it (2xx). */
export type WebhookSender = (event: { id: string; body: string }, nowMs: number) => Promise<Attempt>;

export function webhookSender(config: WebhookConfig): WebhookSender {
  return async ({ id, body }, nowMs) => {
    try {
      const res = await fetch(config.url, {
        method: "POST",
        headers: await webhookHeaders(config.key, id, nowMs, body),
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, error: res.status >= 300 && res.status < 400 ? `HTTP ${res.status}, a redirect (not followed)` : `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, error: errorSummary(err) };
    }
  };
}
