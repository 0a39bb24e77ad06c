/**
 * The email hook's settings (parsed by parseConfig at startup, src/config.ts). Gatehouse
 * sends no email itself: when EMAIL_WEBHOOK_URL is set it POSTs each message to that
 * HTTPS endpoint, signed with EMAIL_WEBHOOK_SECRET, and the product delivers it with its
 * own provider. Without it, links are only shown to the admin who created them.
 */

export type EmailWebhookConfig = { url: string; secret: string };

export type EmailWebhookEnv = { EMAIL_WEBHOOK_URL?: string; EMAIL_WEBHOOK_SECRET?: string };

/** Long enough to be a random key (e.g. `openssl rand -base64 32`), not a word. */
export const MIN_EMAIL_WEBHOOK_SECRET_LENGTH = 32;

export class EmailWebhookConfigError extends Error {
  override readonly name = "EmailWebhookConfigError";
}

/** null when no hook is configured; throws EmailWebhookConfigError naming the variable otherwise. */
export function emailWebhookConfig(env: EmailWebhookEnv): EmailWebhookConfig | null {
  const raw = env.EMAIL_WEBHOOK_URL?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EmailWebhookConfigError(`EMAIL_WEBHOOK_URL must be an absolute https:// URL (got ${JSON.stringify(raw)})`);
  }
  // The body carries sign-in links: never over plain HTTP, never with credentials in the URL.
  if (url.protocol !== "https:") throw new EmailWebhookConfigError(`EMAIL_WEBHOOK_URL must use https:// (got ${url.protocol})`);
  if (url.username || url.password) throw new EmailWebhookConfigError("EMAIL_WEBHOOK_URL must not carry credentials; the requests are signed with EMAIL_WEBHOOK_SECRET");
  const secret = env.EMAIL_WEBHOOK_SECRET ?? "";
  if (secret.length < MIN_EMAIL_WEBHOOK_SECRET_LENGTH) {
    throw new EmailWebhookConfigError(
      `EMAIL_WEBHOOK_SECRET must be set (wrangler secret put EMAIL_WEBHOOK_SECRET) to at least ${MIN_EMAIL_WEBHOOK_SECRET_LENGTH} random characters when EMAIL_WEBHOOK_URL is set`,
    );
  }
  return { url: url.toString(), secret };
}
