/** The API contract the panel is built against. Times are ISO 8601. */
// Shapes and vocabularies the server defines in import-free modules are shared, not
// copied: views, roles and permissions, step-up purposes and methods, audit actions and
// target types. A label table typed by one of these fails the type check when it lacks a label.
import type { SessionView as Session } from "../../../src/sessions/views";
import type { RuleView as IpRule } from "../../../src/ip-rules/views";

export type { SessionView as Session } from "../../../src/sessions/views";
export type { RuleView as IpRule } from "../../../src/ip-rules/views";

import type { Permission, Role } from "../../../src/lib/permissions";
import type { AuditOutcome, AuditTargetType } from "../../../src/audit/actions";
export { ROLES, ROLE_RANK, type Permission, type Role } from "../../../src/lib/permissions";
export { MIN_PASSWORD_LENGTH } from "../../../src/lib/password-length";
export { hasSecondFactor, type StepUpMethod, type StepUpPurpose } from "../../../src/stepup/policy";
export { PHISHING_RESISTANT_SCOPES, type PhishingResistantScope } from "../../../src/tenant/policy-vocabulary";
export type { RevokeReason } from "../../../src/sessions/views";
export type { Branding } from "../../../src/panel/branding";
export type { InvitationCreated, InvitationPreview, InvitationStatus, InvitationView as Invitation } from "../../../src/users/invitation-views";
export { AUDIT_ACTIONS, AUDIT_TARGET_TYPES, type AuditAction, type AuditOutcome, type AuditTargetType } from "../../../src/audit/actions";

export type User = {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  role: Role;
  permissions: Permission[];
  totpEnabled: boolean;
  passkeyCount: number;
};

export type Impersonation = {
  realUser: { id: string; email: string; displayName: string };
  reason: string;
  startedAt: string;
  expiresAt: string;
};

/** `mfaEnrollmentRequired`: the tenant requires two-factor and this user has none yet: enrolment only. */
export type Me = { user: User; tenant?: { name: string }; sessionId: string; impersonation?: Impersonation | null; mfaEnrollmentRequired?: boolean };


export type SessionList = { sessions: Session[]; currentSessionId: string };

import type { StepUpMethod } from "../../../src/stepup/policy";
/**
 * `label`: how a product's own purpose reads in the dialog ("delete a note"); Gatehouse's have theirs here.
 * `phishingResistantRequired`: the organisation's policy accepts only a passkey here (`methods` is then ["passkey"] or empty).
 */
export type StepUpChallenge = { purpose: string; methods: StepUpMethod[]; enrollmentRequired?: boolean; phishingResistantRequired?: boolean; label?: string };

/** One of the user's passkeys; `backedUp`: synced by a cloud keychain, rather than bound to one device. */
export type Passkey = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };

export type TotpEnrollment = { secret: string; otpauthUrl: string; qrSvg: string };
export type RecoveryCodes = { recoveryCodes: string[] };

export type IpRuleInput = { action: "allow" | "deny"; cidr: string; description?: string | null; expiresAt?: string | null };
export type IpCheck = { ip: string | null; allowed: boolean; matchedRule: IpRule | null; reason?: string };

export type TeamMember = {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  totpEnabled: boolean;
  passkeyCount: number;
  createdAt: string;
  disabledAt: string | null;
  /** Signs in through the organization's identity provider (linked at a single sign-on), or was provisioned by SCIM. */
  sso: boolean;
  scim: boolean;
};

export type AuditEntry = {
  id: string;
  seq: number;
  actorUserId: string | null;
  realUserId: string | null;
  isImpersonating: boolean;
  action: string;
  outcome: AuditOutcome;
  /** Gatehouse's target types, or a product's own (`note`) on its `app.…` rows. */
  targetType: AuditTargetType | (string & {}) | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  country: string | null;
  city: string | null;
  failureReason: string | null;
  before: unknown;
  after: unknown;
  metadata: unknown;
  requestId: string | null;
  createdAt: string;
};
export type AuditPage = { items: AuditEntry[]; nextCursor: string | null };
export type AuditVerify = { ok: boolean; checked: number; firstBrokenSeq: number | null };

/** The tenant's single sign-on connection as `GET /api/tenant/sso` shows it (never the secret). */
export type SsoConnection = {
  protocol: "oidc";
  issuer: string;
  clientId: string;
  secretSet: boolean;
  domains: string[];
  jitProvisioning: boolean;
  defaultRole: "member" | "admin";
  requireSso: boolean;
  /** What to paste at the identity provider. */
  redirectUri: string;
  backchannelLogoutUri: string;
  updatedAt: string;
};
export type SsoConnectionInput = Omit<SsoConnection, "protocol" | "secretSet" | "redirectUri" | "backchannelLogoutUri" | "updatedAt"> & { clientSecret?: string };
/** The tenant's SCIM token as `GET /api/tenant/scim-token` shows it (the token itself is shown once, when made). */
export type ScimTokenView = { createdAt: string; lastUsedAt: string | null; createdBy: string | null; active: boolean };

export type { StreamPreset } from "../../../src/audit-stream/vocabulary";
import type { StreamPreset } from "../../../src/audit-stream/vocabulary";
/** The tenant's audit stream as `GET /api/tenant/audit-stream` shows it (never the token: its last four characters). */
export type AuditStreamView = {
  id: string;
  preset: StreamPreset;
  url: string;
  tokenHint: string;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
  state: {
    lastDeliveredSeq: number;
    headSeq: number;
    lag: number;
    lastDeliveredAt: string | null;
    failures: number;
    nextAttemptAt: string | null;
    lastError: { status: number | null; summary: string; at: string | null } | null;
  } | null;
};
export type AuditStreamInput = { preset: StreamPreset; url: string; token?: string };
