// @gatehouse/product: what a product behind Gatehouse needs (README.md).
export { ASSERTION_HEADER, ASSERTION_MAX_AGE_SECONDS, type AssertionClaims, CLOCK_TOLERANCE_SECONDS } from "./claims.js";
export { type AssertionVerifier, type JwksFetcher, type Refused, type Verified, type VerifierOptions, type VerifyOptions, createAssertionVerifier, verifyAssertion } from "./verify.js";
export type * from "./rpc.js";
export { type ProductApiClient, type ProductApiOptions, createProductApiClient } from "./http.js";
export { CLIENT_MODULE_EXPORTS, type GatehouseClient } from "./client.js";
export { WEBHOOK_TOLERANCE_SECONDS, type WebhookEvent, type WebhookRefused, type WebhookVerified, verifyWebhook } from "./webhooks.js";
