/**
 * The email hook: the one way a feature sends a message (an invitation, a password reset
 * link). `sendEmail` POSTs `{ id, to, template, link, tenant }` as JSON to EMAIL_WEBHOOK_URL
 * with `Gatehouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * A receiver recomputes the HMAC over the raw body, compares in constant time, refuses a
 * timestamp older than a few minutes and drops an `id` it has already seen inside that
 * window (a replayed request), as docs/deploy.md "Email hook" shows.
 *
 * Threat model: links are bearer secrets. They travel only in the signed HTTPS body to
 * the configured URL and nowhere else: a redirect is never followed (it would re-send the
 * body to wherever the answer points, plain http:// included) and counts as a failed
 * delivery. They are never logged (a failure logs the template and the HTTP status,
 * nothing of the message), and a delivery failure never fails the caller: the link is
 * still shown to the admin.
 */
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { parseConfig } from "../config";
import { tenants } from "../db/schema";
import type { AppEnv } from "../env";
import { randomId } from "../lib/crypto";
import { errorSummary, log } from "../lib/log";
import type { EmailWebhookConfig } from "./config";

export const EMAIL_TEMPLATES = ["invitation", "password_reset"] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

export const EMAIL_SIGNATURE_HEADER = "Gatehouse-Signature";
const DELIVERY_TIMEOUT_MS = 5_000;

export type EmailMessage = { to: string; template: EmailTemplate; link: string; tenantId: string };

/** What happened: `sent` (the receiver answered 2xx), `not_configured` (no hook), `failed`. */
export type EmailDelivery = "sent" | "not_configured" | "failed";

export async function sendEmail(c: Context<AppEnv>, message: EmailMessage): Promise<EmailDelivery> {
  const hook = parseConfig(c.env).emailWebhook;
  if (!hook) return "not_configured";
  try {
    const tenant = await c.var.db.query.tenants.findFirst({ columns: { id: true, name: true, slug: true }, where: eq(tenants.id, message.tenantId) });
    if (!tenant) throw new Error("tenant not found");
    // A fresh id per message, inside the signed body: a receiver drops one it has seen.
    const body = JSON.stringify({ id: randomId("msg_"), to: message.to, template: message.template, link: message.link, tenant });
    const res = await fetch(hook.url, {
      method: "POST",
      headers: { "content-type": "application/json", [EMAIL_SIGNATURE_HEADER]: await signEmailBody(hook, body, c.get("now")) },
      body,
      // A 3xx comes back as it is: the body goes to EMAIL_WEBHOOK_URL and nowhere else.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (res.ok) return "sent";
    // Only the status: a redirect's Location is the receiver's to know, not the log's.
    logFailure(message.template, res.status >= 300 && res.status < 400 ? `HTTP ${res.status}, a redirect (not followed)` : `HTTP ${res.status}`);
  } catch (err) {
    logFailure(message.template, errorSummary(err));
  }
  return "failed";
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">`. */
export async function signEmailBody(hook: Pick<EmailWebhookConfig, "secret">, body: string, nowMs: number): Promise<string> {
  const timestamp = Math.floor(nowMs / 1000);
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(hook.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${body}`)));
  return `t=${timestamp},v1=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function logFailure(template: EmailTemplate, error: string): void {
  // Never the link nor the address: the template and what went wrong.
  log.error("email hook delivery failed", { template, error });
}
