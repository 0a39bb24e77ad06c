/**
 * Deployment configuration (wrangler vars), validated once per isolate at startup
 * (src/index.ts reads it before the first request). A bad value is a clear error
 * naming the variable, never a surprise hours later on some code path.
 */
import { object, string } from "zod";
import { type EmailWebhookConfig, EmailWebhookConfigError, type EmailWebhookEnv, emailWebhookConfig } from "./email/config";
import type { Bindings } from "./env";
import { OperatorTokenError, operatorTokenConfig } from "./operator/token-config";
import { type ProductCredential, ProductTokensError, productCredentialsConfig } from "./product-api/credentials";
import { type GatewayConfig, GatewayConfigError, type GatewayEnv, gatewayConfig } from "./gateway/config";
import { sanitizeReturnTo } from "./gateway/return-to";
import { type KeySet, parseKeySet } from "./lib/key-set";
import { KEY_SET_SECRETS, type KeySetSecret } from "./key-set-secrets";
import { pwnedPasswordsApiVar } from "./lib/breached-passwords";
import { type Branding, brandingVars } from "./panel/branding";
import { log } from "./lib/log";
import { isLoopbackHost, originProblem } from "./lib/origin";
import type { ProductStepUpPolicy } from "./stepup/policy";
import { ProductPurposesError, productStepUpPurposes } from "./stepup/product-purposes";
import { type WebhookConfig, WebhookConfigError, type WebhookEnv, webhookConfig } from "./webhooks/config";

/** Where everything Gatehouse serves lives on the host: API, panel, JWKS. The rest belongs to the product. */
export const DEFAULT_GATEHOUSE_PATH = "/_gatehouse";

// NIST SP 800-63B-4 §2.2.3 (AAL2): reauthenticate at least every 24 h and after
// at most 1 h of inactivity. wrangler.toml may tighten or relax them per deployment.
const DEFAULT_SESSION_ABSOLUTE_TIMEOUT_SECONDS = 24 * 60 * 60;
const DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS = 60 * 60;
// SOC 2 evidence windows are typically 12 months; keep 400 days unless configured.
const DEFAULT_AUDIT_RETENTION_DAYS = 400;
const DEFAULT_IMPERSONATION_MAX_SECONDS = 30 * 60;

// One or more lower-case segments, no trailing slash: it is also written into the
// panel's <base href>, so nothing in it may need escaping.
const gatehousePath = string()
  .regex(/^(\/[a-z0-9_-]+)+$/, "must look like /_gatehouse: one or more /segments of a-z, 0-9, _ or -, no trailing slash")
  .optional()
  .transform((v) => v ?? DEFAULT_GATEHOUSE_PATH);

/**
 * PUBLIC_ORIGIN: the one origin users open Gatehouse on (e.g. https://auth.example.com), the
 * origin of every link that leaves Gatehouse (src/panel/links.ts). Required: without it a
 * link would have to be built from the request's Host, which whoever sends the request
 * chooses. https only, except on this machine (`npm start` serves http://localhost:<port>).
 */
const publicOriginVar = string({ error: "must be set to the origin users open Gatehouse on, e.g. https://auth.example.com" })
  .superRefine((text, ctx) => {
    const problem = originProblem(text) ?? httpsUnlessLoopback(new URL(text));
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((text) => new URL(text).origin);

function httpsUnlessLoopback(url: URL): string | null {
  if (url.protocol === "https:" || isLoopbackHost(url.hostname)) return null;
  return "must use https:// (http:// only for localhost, 127.0.0.1 or [::1])";
}

/** SIGN_OUT_PATH: where the sign-out page lands, a same-origin path as returnTo allows one (default "/"). */
const signOutPath = string()
  .refine((v) => sanitizeReturnTo(v) === v, "must be a same-origin path such as / or /signed-out")
  .optional()
  .transform((v) => v ?? "/");

/** A wrangler var holding a positive whole number (vars are strings), `fallback` when unset. */
const positiveInteger = (fallback: number) =>
  string()
    .regex(/^[1-9][0-9]*$/, { message: "must be a positive whole number", abort: true })
    .refine((v) => Number.isSafeInteger(Number(v)), "is too large")
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));

const configVars = object({
  PUBLIC_ORIGIN: publicOriginVar,
  GATEHOUSE_PATH: gatehousePath,
  SIGN_OUT_PATH: signOutPath,
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: positiveInteger(DEFAULT_SESSION_ABSOLUTE_TIMEOUT_SECONDS),
  SESSION_IDLE_TIMEOUT_SECONDS: positiveInteger(DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS),
  AUDIT_RETENTION_DAYS: positiveInteger(DEFAULT_AUDIT_RETENTION_DAYS),
  IMPERSONATION_MAX_SECONDS: positiveInteger(DEFAULT_IMPERSONATION_MAX_SECONDS),
  PWNED_PASSWORDS_API: pwnedPasswordsApiVar,
  ...brandingVars.shape,
});

type ConfigVar = keyof typeof configVars.shape;


export type GatehouseConfig = {
  /** PUBLIC_ORIGIN as URL.origin writes it: the start of every outgoing link (src/panel/links.ts). */
  publicOrigin: string;
  gatehousePath: string;
  /** Where `<GATEHOUSE_PATH>/sign-out` lands once the session has ended (SIGN_OUT_PATH). */
  signOutPath: string;
  sessionAbsoluteTimeoutSeconds: number;
  sessionIdleTimeoutSeconds: number;
  auditRetentionDays: number;
  impersonationMaxSeconds: number;
  /** Have I Been Pwned's range API base (PWNED_PASSWORDS_API, src/lib/breached-passwords.ts); null: that check is off. */
  pwnedPasswordsApi: string | null;
  /** The product's name, logo, accent colour and home on the pages its users see (src/panel/branding.ts). */
  branding: Branding;
  /** Gateway mode's settings; null when no origin is configured (a standalone Gatehouse). */
  gateway: GatewayConfig | null;
  /** The product's step-up purposes (PRODUCT_STEP_UP_PURPOSES); none when unset. */
  productStepUpPurposes: ProductStepUpPolicy[];
  /** The key sets, null when the secret is unset (the features needing it answer 503). */
  keys: { totp: KeySet | null; auditCheckpoint: KeySet | null; sessionSnapshot: KeySet | null };
  /** Where messages with links go (EMAIL_WEBHOOK_URL, https only, and its secret); null when unset. */
  emailWebhook: EmailWebhookConfig | null;
  /** The operator API's bearer token (OPERATOR_TOKEN secret); null: that API does not exist. */
  operatorToken: string | null;
  /** Product webhooks' endpoint and signing key (WEBHOOK_URL, WEBHOOK_SECRET); null: webhooks are off. */
  webhook: WebhookConfig | null;
  /** The product HTTP API's credentials (PRODUCT_API_TOKENS secret); null: that API does not exist. */
  productCredentials: ProductCredential[] | null;
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const parsed = new WeakMap<object, GatehouseConfig>();

/** What parseConfig reads. */
export type ConfigEnv = Parameters<typeof parseConfig>[0];

/**
 * The validated configuration of `env`. Parsed once per env object (later calls, on the
 * request path, are a WeakMap lookup); an unset or empty variable takes its default.
 */
export function parseConfig(
  env: Partial<Pick<Bindings, ConfigVar | KeySetSecret | "PRODUCT_STEP_UP_PURPOSES">> & GatewayEnv & EmailWebhookEnv & WebhookEnv & { OPERATOR_TOKEN?: string; PRODUCT_API_TOKENS?: string },
): GatehouseConfig {
  const known = parsed.get(env);
  if (known) return known;
  const vars = Object.fromEntries(Object.keys(configVars.shape).map((name) => [name, env[name as ConfigVar] || undefined]));
  const result = configVars.safeParse(vars);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        return `${name} ${issue.message} (got ${JSON.stringify(vars[name])})`;
      });
  const keys = parseKeySets(env, problems);
  if (!result.success || problems.length > 0) throw new ConfigError(problems.join("; "));
  const v = result.data;
  const config: GatehouseConfig = {
    publicOrigin: v.PUBLIC_ORIGIN,
    gatehousePath: v.GATEHOUSE_PATH,
    signOutPath: v.SIGN_OUT_PATH,
    sessionAbsoluteTimeoutSeconds: v.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
    sessionIdleTimeoutSeconds: v.SESSION_IDLE_TIMEOUT_SECONDS,
    auditRetentionDays: v.AUDIT_RETENTION_DAYS,
    impersonationMaxSeconds: v.IMPERSONATION_MAX_SECONDS,
    pwnedPasswordsApi: v.PWNED_PASSWORDS_API,
    branding: { name: v.PRODUCT_NAME, logoUrl: v.PRODUCT_LOGO_URL, accentColor: v.PRODUCT_ACCENT_COLOR, productUrl: v.PRODUCT_URL },
    gateway: null,
    productStepUpPurposes: asConfigError(() => productStepUpPurposes(env), ProductPurposesError),
    keys: { totp: keys.TOTP_ENCRYPTION_KEY, auditCheckpoint: keys.AUDIT_CHECKPOINT_KEY, sessionSnapshot: keys.SESSION_SNAPSHOT_KEYS },
    emailWebhook: asConfigError(() => emailWebhookConfig(env), EmailWebhookConfigError),
    operatorToken: asConfigError(() => operatorTokenConfig(env), OperatorTokenError),
    webhook: asConfigError(() => webhookConfig(env), WebhookConfigError),
    productCredentials: asConfigError(() => productCredentialsConfig(env), ProductTokensError),
  };
  config.gateway = parseGateway(env, config.productStepUpPurposes);
  // In gateway mode the product is this host's own home page.
  if (config.branding.productUrl === null && config.gateway) config.branding.productUrl = "/";
  parsed.set(env, config);
  return config;
}

/**
 * `parse()`, a setting's own parser, its refusal (an `own` error, whose message names the
 * setting and never its value) reported as a ConfigError like every other startup problem.
 */
function asConfigError<T>(parse: () => T, own: abstract new (...args: never[]) => Error): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof own) throw new ConfigError(err.message);
    throw err;
  }
}

function parseGateway(env: GatewayEnv, productPurposes: ProductStepUpPolicy[]): GatewayConfig | null {
  if (env.ORIGIN === undefined && env.ORIGIN_URL === undefined) {
    // Routes that would ask for a step-up with nothing to guard: a mistake to say out loud.
    if (env.STEP_UP_ROUTES?.trim()) throw new ConfigError("STEP_UP_ROUTES is set but no origin is configured (ORIGIN or ORIGIN_URL)");
    return null;
  }
  try {
    return gatewayConfig(env, productPurposes);
  } catch (err) {
    if (err instanceof GatewayConfigError) throw new ConfigError(`Gateway mode: ${err.problems.join("; ")}`);
    throw err;
  }
}

/** Each key-set secret, parsed; problems name the secret, never its value. */
function parseKeySets(env: Partial<Record<KeySetSecret, string>>, problems: string[]): Record<KeySetSecret, KeySet | null> {
  const sets = { TOTP_ENCRYPTION_KEY: null, AUDIT_CHECKPOINT_KEY: null, SESSION_SNAPSHOT_KEYS: null } as Record<KeySetSecret, KeySet | null>;
  for (const name of Object.keys(KEY_SET_SECRETS) as KeySetSecret[]) {
    const raw = env[name];
    if (!raw) continue;
    const parsed = parseKeySet(raw, KEY_SET_SECRETS[name]);
    if (parsed.ok) sets[name] = parsed.set;
    else problems.push(...parsed.problems.map((p) => `${name} ${p}`));
  }
  return sets;
}

/**
 * One key set of `env`, for the code that uses it: null when the secret is unset, or when
 * the configuration did not parse (logged, naming the problem). Callers answer 503 with
 * their own code: never a 500, never a pass.
 */
export function configuredKeySet(env: Parameters<typeof parseConfig>[0], which: keyof GatehouseConfig["keys"]): KeySet | null {
  try {
    return parseConfig(env).keys[which];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error("configuration invalid", { problem: err.message });
    return null;
  }
}
