/**
 * The one audit taxonomy, shared with the panel (import-free). Every row's `action` is
 * one of these, and its `targetType` one of AUDIT_TARGET_TYPES.
 */
export const AUDIT_ACTIONS = [
  // Sign-in
  "LOGIN_SUCCEEDED",
  "LOGIN_FAILED",
  "LOGOUT",
  // Sessions
  "SESSION_CREATED",
  "SESSION_REVOKED",
  "SESSION_REVOKE_ALL",
  "SESSION_INVALIDATED",
  // MFA and step-up
  "MFA_ENROLLMENT_STARTED",
  "MFA_ENROLLED",
  "MFA_DISABLED",
  "MFA_RECOVERY_CODES_REGENERATED",
  "MFA_RECOVERY_CODE_USED",
  "PASSKEY_ADDED",
  "PASSKEY_RENAMED",
  "PASSKEY_REMOVED",
  "STEP_UP_VERIFIED",
  // Network
  "IP_RULE_CREATED",
  "IP_RULE_UPDATED",
  "IP_RULE_DELETED",
  "IP_ACCESS_DENIED",
  // Impersonation
  "IMPERSONATION_STARTED",
  "IMPERSONATION_ENDED",
  // IAM
  "USER_ROLE_UPDATED",
  "USER_PERMISSIONS_UPDATED",
  // Member lifecycle, the account and the tenant's policy
  "USER_DISABLED",
  "USER_ENABLED",
  "USER_REMOVED",
  "MFA_RESET",
  "PASSWORD_CHANGED",
  "PASSWORD_RESET_REQUESTED",
  "PASSWORD_RESET",
  "PROFILE_UPDATED",
  "TENANT_POLICY_UPDATED",
  // Onboarding: tenants (the operator) and invitations
  "TENANT_CREATED",
  "TENANT_DISABLED",
  "USER_INVITED",
  "INVITATION_REVOKED",
  "INVITATION_ACCEPTED",
  // Single sign-on and SCIM (src/sso, src/scim). A member SCIM disables, enables, removes or
  // changes is recorded under the member lifecycle's own actions, with `metadata.by: "scim"`.
  "SSO_CONNECTION_SAVED",
  "SSO_CONNECTION_DELETED",
  "SSO_LOGOUT",
  "SCIM_TOKEN_CREATED",
  "SCIM_TOKEN_DELETED",
  "SCIM_USER_CREATED",
  "SCIM_USER_UPDATED",
  // The audit stream to the tenant's SIEM (src/audit-stream)
  "AUDIT_STREAM_SAVED",
  "AUDIT_STREAM_PAUSED",
  "AUDIT_STREAM_RESUMED",
  "AUDIT_STREAM_REPLAYED",
  "AUDIT_STREAM_DELETED",
  // Any other refusal (reads included), written by the app-level refusal recorder
  "REQUEST_REFUSED",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = "SUCCESS" | "FAIL";

/** What a row's `targetId` names. */
export const AUDIT_TARGET_TYPES = ["user", "session", "ip_rule", "ip_address", "tenant", "invitation", "sso_connection", "scim_token", "audit_stream"] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

/**
 * The product's own events (recorded through the RPC entrypoint, src/rpc): always
 * `app.` and one or more lower-case dotted segments, e.g. `app.note.deleted`, so a
 * product row can never pass for one of Gatehouse's actions above.
 */
export const PRODUCT_AUDIT_ACTION_PATTERN = /^app(\.[a-z][a-z0-9_]*)+$/;
export const PRODUCT_AUDIT_ACTION_MAX_LENGTH = 64;
export type ProductAuditAction = `app.${string}`;

/** What a product row's `targetId` names: free-form, validated (`note`, `invoice_line`). */
export const PRODUCT_TARGET_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
export type ProductTargetType = string & { readonly __productTargetType: true };
