/** The one audit taxonomy. Every row's `action` is one of these. */
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
  // Any other refusal (reads included), written by the app-level refusal recorder
  "REQUEST_REFUSED",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = "SUCCESS" | "FAIL";
