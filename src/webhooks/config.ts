/**
 * The product webhooks' settings, validated by parseConfig at startup (src/config.ts):
 * WEBHOOK_URL (a var) and WEBHOOK_SECRET (a secret, Standard Webhooks' `whsec_<base64>`
 * form, 24 to 64 random bytes). WEBHOOK_URL unset (or empty): webhooks are off and nothing
 * is enqueued, whatever the secret (as EMAIL_WEBHOOK_SECRET without its URL: `npm start`
 * keeps one in .dev.vars for every mode). A URL without a valid secret is a configuration
 * error, never unsigned deliveries.
 *
 * The tenant objects read it again per delivery (webhookConfig, uncached): the same parse,
 * so the object and the startup check never disagree.
 */
import { z } from "../lib/zod";
import { fromBase64Url } from "../lib/crypto";
import { isLoopbackHost } from "../lib/origin";

export type WebhookConfig = { url: string; key: Uint8Array };

export type WebhookEnv = { WEBHOOK_URL?: string; WEBHOOK_SECRET?: string };

/** Standard Webhooks: secrets are 24 to 64 random bytes, base64 after `whsec_`. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export class WebhookConfigError extends Error {
  override readonly name = "WebhookConfigError";
}

const webhookUrl = z
  .string()
  .refine((text) => URL.canParse(text), "must be an absolute URL, e.g. https://product.example.com/webhooks/gatehouse")
  .transform((text) => new URL(text))
  .refine((url) => url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)), "must use https:// (http:// only for localhost or 127.0.0.1)")
  .refine((url) => !url.username && !url.password, "must not carry credentials: the requests are signed with WEBHOOK_SECRET")
  .transform((url) => url.toString());

/** Never echoes the value: a problem names the form it must have. */
const webhookSecret = z
  .string()
  .refine((text) => text.startsWith(WEBHOOK_SECRET_PREFIX), `must be ${WEBHOOK_SECRET_PREFIX}<base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes>`)
  .transform((text, ctx) => {
    const body = text.slice(WEBHOOK_SECRET_PREFIX.length);
    let key: Uint8Array | null = null;
    try {
      key = /^[A-Za-z0-9+/]+={0,2}$/.test(body) ? fromBase64Url(body) : null;
    } catch {
      key = null;
    }
    if (!key || key.byteLength < MIN_KEY_BYTES || key.byteLength > MAX_KEY_BYTES) {
      ctx.addIssue({ code: "custom", message: `must be ${WEBHOOK_SECRET_PREFIX}<base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes> (e.g. printf 'whsec_%s' "$(openssl rand -base64 32)")` });
      return z.NEVER;
    }
    return key;
  });

/** null when webhooks are off; throws WebhookConfigError naming the variable (never the secret's value). */
export function webhookConfig(env: WebhookEnv): WebhookConfig | null {
  const rawUrl = env.WEBHOOK_URL?.trim() || undefined;
  const rawSecret = env.WEBHOOK_SECRET || undefined;
  if (rawUrl === undefined) return null;
  if (rawSecret === undefined) throw new WebhookConfigError("WEBHOOK_URL is set but WEBHOOK_SECRET is not (wrangler secret put WEBHOOK_SECRET)");
  const url = webhookUrl.safeParse(rawUrl);
  const secret = webhookSecret.safeParse(rawSecret);
  const problems = [
    // The value is never echoed: a URL may carry a credential (the check below refuses it).
    ...(url.success ? [] : url.error.issues.map((i) => `WEBHOOK_URL ${i.message}`)),
    ...(secret.success ? [] : [`WEBHOOK_SECRET ${secret.error.issues[0]?.message ?? "is not valid"}`]),
  ];
  if (!url.success || !secret.success) throw new WebhookConfigError(problems.join("; "));
  return { url: url.data, key: secret.data };
}
