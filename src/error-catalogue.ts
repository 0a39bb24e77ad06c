/**
 * Every error code the API answers, in one place: its HTTP status (or statuses) and a
 * default message that says what it means. ApiError takes only these codes, with one of
 * their statuses (tsc rejects anything else; test/error-catalogue.test.ts finds every code
 * written anywhere else), and the table in docs/errors.md is rendered from here
 * (`npm run docs:errors`). A message given where an error is raised says it for that
 * place; the default one is for the docs and the API document (src/openapi/document.ts).
 *
 * Plain data, no imports: the scripts read this file directly with Node.
 */

/** `"4XX"`: whatever client-error status Hono's own refusal carried (OpenAPI's range notation). */
type CatalogueStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 428 | 429 | 500 | 502 | 503 | "4XX";

type CatalogueEntry = { readonly status: CatalogueStatus | readonly CatalogueStatus[]; readonly message: string };

export const ERROR_CATALOGUE = {
  // 400: the request itself is wrong; nothing was done.
  VALIDATION_FAILED: { status: 400, message: "A body, parameter or query value is not valid; `issues` names each problem" },
  MALFORMED_JSON: { status: 400, message: "The request body is not valid JSON" },
  MALFORMED_PATH: { status: 400, message: "The path has empty, dot or encoded-separator segments; send it normalised" },
  METHOD_NOT_ALLOWED: { status: 400, message: "This way of verifying is not accepted here; `methods` names those that are" },
  PASSWORD_UNCHANGED: { status: 400, message: "The new password is the current one" },
  TOO_MANY_RULES: { status: 400, message: "The tenant has as many IP rules as it may have; delete some first" },
  WEAK_PASSWORD: { status: 400, message: "The password is refused by the password policy; `reason` says why" },
  PASSKEY_RESPONSE_MALFORMED: { status: 400, message: "The passkey's answer is not a well-formed WebAuthn response (its JSON, CBOR or authenticator data)" },
  HTTP_ERROR: { status: "4XX", message: "The request was refused before it reached a route" },

  // 401: who is asking is not established.
  UNAUTHORIZED: { status: 401, message: "Sign in to continue" },
  SESSION_REVOKED: { status: 401, message: "The session was revoked or has expired; sign in again" },
  SESSION_INVALIDATED: { status: 401, message: "Every session of the user was signed out; sign in again" },
  INVALID_CREDENTIALS: { status: 401, message: "Email or password is incorrect" },
  TOTP_REQUIRED: { status: 401, message: "The right password: now the code from the authenticator app" },
  INVALID_OTP: { status: 401, message: "The code is incorrect" },
  REPLAYED_OTP: { status: 401, message: "This code was already used; wait for the next one" },
  INVALID_PASSWORD: { status: 401, message: "The password is incorrect" },
  SECOND_FACTOR_REQUIRED: { status: 401, message: "The right password: now a second factor; `methods` names those the member can use" },
  // A passkey's answer refused: 400 when adding one, 401 when signing in or stepping up with one.
  PASSKEY_CHALLENGE_MISMATCH: { status: [400, 401], message: "The passkey answered a challenge not issued for this (session, purpose or sign-in); start again" },
  PASSKEY_CHALLENGE_USED: { status: [400, 401], message: "The passkey answered a challenge that was already used; start again" },
  PASSKEY_CHALLENGE_EXPIRED: { status: [400, 401], message: "The passkey answered a challenge older than 5 minutes; start again" },
  PASSKEY_ORIGIN_MISMATCH: { status: [400, 401], message: "The passkey signed for another site than this one" },
  PASSKEY_RP_ID_MISMATCH: { status: [400, 401], message: "The passkey answered for another relying party (RP ID)" },
  PASSKEY_USER_NOT_VERIFIED: { status: [400, 401], message: "The authenticator did not verify the user (PIN or biometric)" },
  PASSKEY_COUNTER_REGRESSED: { status: 401, message: "The passkey's signature counter did not move forwards: it may have been cloned" },
  PASSKEY_INVALID: { status: [400, 401], message: "The passkey's answer could not be verified (unknown credential, another user's, or a bad signature)" },
  // The product's HTTP API (src/product-api): the origin's credential, and the user's assertion it presents.
  PRODUCT_CREDENTIAL_INVALID: { status: 401, message: "The product credential (Authorization: Bearer, one of PRODUCT_API_TOKENS) is missing or wrong" },
  ASSERTION_INVALID: { status: 401, message: "The user's identity assertion (Gatehouse-Jwt-Assertion) is missing, expired, not for this product or not signed by Gatehouse" },

  // 403: established, and not allowed.
  FORBIDDEN: { status: 403, message: "The caller's role or permissions do not allow this" },
  CANNOT_CHANGE_OWN_ACCESS: { status: 403, message: "Nobody changes their own access (role, permissions, status or second factor)" },
  CSRF: { status: 403, message: "A cross-site or cross-origin request was refused" },
  BROWSER_REFUSED: { status: 403, message: "The product API is for the product's server: a request carrying a browser's fetch metadata, Origin or cookies is refused" },
  IMPERSONATION_FORBIDDEN: { status: 403, message: "This is never done on someone's behalf; exit impersonation first" },
  IP_BLOCKED: { status: 403, message: "Access from this network address is not allowed by the organisation" },
  MFA_ENROLLMENT_REQUIRED: { status: 403, message: "Set up two-factor authentication first" },
  PHISHING_RESISTANT_REQUIRED: { status: 403, message: "The organisation requires a passkey for this; a code is not accepted" },
  TENANT_DISABLED: { status: 403, message: "The organisation's access to Gatehouse has been disabled" },
  USER_DISABLED: { status: [403, 409], message: "The account is disabled (403 for its own requests; 409 for an action a disabled member cannot take)" },

  // 404: not there, or another tenant's (never told apart).
  NOT_FOUND: { status: 404, message: "No such route" },
  AUDIT_STREAM_NOT_FOUND: { status: 404, message: "The tenant has no audit stream (with this id)" },
  INVITATION_NOT_FOUND: { status: 404, message: "The invitation does not exist or its link is not valid" },
  IP_RULE_NOT_FOUND: { status: 404, message: "IP rule not found" },
  PASSKEY_NOT_FOUND: { status: 404, message: "Passkey not found" },
  RESET_LINK_NOT_FOUND: { status: 404, message: "The password reset link is not valid; ask for a new one" },
  SESSION_NOT_FOUND: { status: 404, message: "Session not found" },
  TENANT_NOT_FOUND: { status: 404, message: "Tenant not found" },
  USER_NOT_FOUND: { status: 404, message: "User not found" },
  WEBHOOK_DEAD_LETTER_NOT_FOUND: { status: 404, message: "No dead-lettered webhook has this event id" },

  // 409: the state does not allow it (now); nothing was changed.
  ACTING_USER_CHANGED: { status: 409, message: "The session now acts for another user than the one the product named, so nothing was recorded" },
  AUDIT_STREAM_CHANGED: { status: 409, message: "The audit stream changed while this change was being made; reload it and try again" },
  DUPLICATE_RULE: { status: 409, message: "An identical IP rule already exists" },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: "This idempotency key recorded a different event in the last 24 hours, so nothing was recorded" },
  IMPERSONATION_CONFLICT: { status: 409, message: "An impersonation started or ended at the same time; nothing was changed, try again" },
  IMPERSONATION_ENDED: { status: 409, message: "The impersonation has just ended, so nothing was done; you act as yourself again" },
  INVITATION_PENDING: { status: 409, message: "This email already has an open invitation: re-send or revoke it" },
  INVITATION_REVOKED: { status: [409, 410], message: "The invitation was withdrawn" },
  INVITATION_USED: { status: 409, message: "The invitation was already used" },
  IP_RULES_CHANGED: { status: 409, message: "The IP rules changed while this change was being checked; reload them and try again" },
  LAST_OWNER: { status: 409, message: "The tenant's last enabled owner cannot be demoted, disabled or removed" },
  MFA_NOT_ENABLED: { status: 409, message: "Two-factor authentication is not enabled" },
  NO_PENDING_ENROLLMENT: { status: 409, message: "No two-factor enrolment of this session is pending; start (or restart) it" },
  LAST_FACTOR_REQUIRED: { status: 409, message: "The organisation's policy requires this factor (the last one, or the last passkey); add another first" },
  PASSKEY_ALREADY_REGISTERED: { status: 409, message: "This passkey is already registered" },
  PASSKEY_LIMIT_REACHED: { status: 409, message: "A member has at most 10 passkeys; remove one first" },
  OWNER_NOT_SOLE: { status: 409, message: "The tenant has another enabled owner, who issues this link from the Team page; the operator issues one only to a sole owner" },
  NOT_IMPERSONATING: { status: 409, message: "The session is not impersonating anyone" },
  RESET_LINK_USED: { status: 409, message: "The password reset link was already used; ask for a new one" },
  SESSION_ALREADY_REVOKED: { status: 409, message: "The session is already revoked" },
  SLUG_TAKEN: { status: 409, message: "Another tenant already uses this slug" },
  TENANT_ALREADY_DISABLED: { status: 409, message: "The tenant is already disabled" },
  USER_ALREADY_DISABLED: { status: 409, message: "The member is already disabled" },
  USER_EXISTS: { status: 409, message: "This email already has a Gatehouse account" },
  USER_NOT_DISABLED: { status: 409, message: "The member is not disabled" },
  WOULD_LOCK_OUT: { status: 409, message: "The change would block the caller's own current address; nothing was changed" },

  // 410, 413, 428, 429.
  INVITATION_EXPIRED: { status: 410, message: "The invitation has expired; ask for a new one" },
  RESET_LINK_EXPIRED: { status: 410, message: "The password reset link has expired; ask for a new one" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is over the size limit" },
  STEP_UP_REQUIRED: { status: 428, message: "Confirm it's you to continue: `purpose` and `methods` say how (a question, not a failure)" },
  TOO_MANY_ATTEMPTS: { status: 429, message: "Too many failed attempts; try again after `retryAfterSeconds`" },

  // SCIM (src/scim): the provisioning API's own refusals, answered in SCIM's error shape with
  // the scimType RFC 7644 gives each (src/scim/protocol.ts, docs/scim.md).
  SCIM_TOKEN_INVALID: { status: 401, message: "The SCIM bearer token is missing, wrong or replaced, or its creator is no longer an enabled owner" },
  SCIM_INVALID_FILTER: { status: 400, message: "The filter is not one Gatehouse supports: userName or externalId, eq, a quoted string" },
  SCIM_INVALID_PATH: { status: 400, message: "A PATCH operation's path is not an attribute path" },
  SCIM_NO_TARGET: { status: 400, message: "A PATCH remove operation names no path" },
  SCIM_MUTABILITY: { status: 400, message: "The attribute cannot be changed or removed (a member's userName is fixed once they exist)" },
  SCIM_TOKEN_NOT_FOUND: { status: 404, message: "The tenant has no SCIM token" },

  // 5xx: not done; retrying is safe (a change that committed answers its success instead).
  INTERNAL_ERROR: { status: 500, message: "Something went wrong" },
  ORIGIN_UNAVAILABLE: { status: 502, message: "The application behind Gatehouse cannot be reached; try again" },
  AUTH_UNAVAILABLE: { status: 503, message: "Not done: a store or key authentication needs is unavailable; retry" },
  ASSERTION_KEYS_UNAVAILABLE: { status: 503, message: "The identity assertion cannot be signed (no usable signing keys); retry later" },
  AUDIT_KEY_UNAVAILABLE: { status: 503, message: "Audit verification is unavailable: the checkpoint key is not configured" },
  AUDIT_ANCHORS_UNAVAILABLE: { status: 503, message: "Audit verification is unavailable: the anchors cannot be read right now; try again" },
  API_DOCUMENT_UNAVAILABLE: { status: 503, message: "The API document is not deployed here (the panel's static files are missing)" },
  AUDIT_UNAVAILABLE: { status: 503, message: "The audit log cannot be written or read right now; retry" },
  AUDIT_STREAM_UNAVAILABLE: { status: 503, message: "The audit stream's token cannot be sealed or opened: the deployment's TOTP_ENCRYPTION_KEY is missing or does not hold its key" },
  CONFIG_INVALID: { status: 503, message: "This deployment's configuration is invalid; the operator has been told" },
  GATEWAY_MISCONFIGURED: { status: 503, message: "The gateway's settings are not valid; the operator has been told" },
  MFA_UNAVAILABLE: { status: 503, message: "Two-factor authentication is unavailable on this deployment; the operator has been told" },
  WEBHOOKS_OFF: { status: 503, message: "Product webhooks are not configured here (WEBHOOK_URL, WEBHOOK_SECRET and the WEBHOOK_QUEUE binding); nothing was replayed" },

  // Single sign-on (src/sso): the connection, and signing in through the tenant's identity provider.
  SSO_PROVIDER_INVALID: { status: 400, message: "The identity provider's discovery document is not usable (`problem` says why); nothing was saved" },
  SSO_FLOW_INVALID: { status: 400, message: "This sign-in with the identity provider is not valid any more (unknown, already used, expired, or started in another browser); start again" },
  SSO_TOKEN_INVALID: { status: 401, message: "The identity provider's answer failed validation (issuer, audience, signature, nonce or expiry); start again" },
  SSO_PROVIDER_REFUSED: { status: 401, message: "The identity provider did not sign you in; start again" },
  SSO_EMAIL_NOT_VERIFIED: { status: 403, message: "The identity provider does not say the email is verified" },
  SSO_DOMAIN_MISMATCH: { status: 403, message: "The identity provider vouched for an email outside the organisation's single sign-on domains" },
  SSO_USER_NOT_PROVISIONED: { status: 403, message: "No account of the organisation has this email, and sign-in does not create one; ask an administrator" },
  SSO_REQUIRED: { status: 403, message: "The organisation requires single sign-on: sign in through its identity provider (`startUrl`)" },
  SSO_NOT_CONFIGURED: { status: 404, message: "No single sign-on connection for this email's domain or organisation" },
  SSO_DOMAIN_TAKEN: { status: 409, message: "Another organisation's single sign-on already holds a domain (`domains` names it)" },
  SSO_PROVIDER_UNREACHABLE: { status: 502, message: "The identity provider's discovery document could not be fetched; nothing was saved" },
  // Back-channel logout (src/sso/backchannel-logout.ts): what the identity provider's logout token is refused for.
  SSO_LOGOUT_TOKEN_INVALID: { status: 400, message: "The back-channel logout token is not valid (`problem` says why); no session was ended" },
  SSO_LOGOUT_TOKEN_REPLAYED: { status: 400, message: "The back-channel logout token's jti was already used; no session was ended" },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The statuses a code is answered with. */
export function statusesOf(code: ErrorCode): readonly CatalogueStatus[] {
  const { status } = ERROR_CATALOGUE[code] as CatalogueEntry;
  return typeof status === "object" ? status : [status];
}

export const ERROR_TABLE_START = "<!-- error-table:start (generated from src/error-catalogue.ts by npm run docs:errors) -->";
export const ERROR_TABLE_END = "<!-- error-table:end -->";

/** The docs' table of codes (docs/errors.md), by status then code. */
export function errorTableMarkdown(): string {
  const first = (code: ErrorCode) => {
    const s = statusesOf(code)[0];
    return s === "4XX" ? 499 : (s ?? 0);
  };
  const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).sort((a, b) => first(a) - first(b) || (a < b ? -1 : 1));
  const rows = codes.map((code) => `| ${statusesOf(code).join(", ")} | \`${code}\` | ${ERROR_CATALOGUE[code].message.replace(/\|/g, "\\|")} |`);
  return [ERROR_TABLE_START, "| status | code | meaning (default message) |", "|---|---|---|", ...rows, ERROR_TABLE_END].join("\n");
}
