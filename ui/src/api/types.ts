/** The API contract the panel is built against (docs: issue 7 brief). Times are ISO 8601. */
// Shapes the server defines in import-free view modules are shared, not copied.
import type { SessionView as Session } from "../../../src/sessions/views";
import type { RuleView as IpRule } from "../../../src/ip-rules/views";

export type { SessionView as Session } from "../../../src/sessions/views";
export type { RuleView as IpRule } from "../../../src/ip-rules/views";

export type Role = "owner" | "admin" | "member";
export type Permission = "SETTINGS_SECURITY_VIEW" | "SETTINGS_SECURITY_EDIT" | "SETTINGS_TEAM_VIEW";

export type User = {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  role: Role;
  permissions: Permission[];
  totpEnabled?: boolean;
};

export type Impersonation = {
  realUser: { id: string; email: string; displayName: string };
  reason: string;
  startedAt: string;
  expiresAt: string;
};

export type Me = { user: User; sessionId: string; impersonation?: Impersonation | null };


export type SessionList = { sessions: Session[]; currentSessionId: string };

export type StepUpMethod = "totp" | "recovery_code" | "password";
export type StepUpChallenge = { purpose: string; methods: StepUpMethod[]; enrollmentRequired?: boolean };

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
  createdAt: string;
  disabledAt: string | null;
};

export type AuditOutcome = "SUCCESS" | "FAIL";
export type AuditEntry = {
  id: string;
  seq: number;
  actorUserId: string | null;
  realUserId: string | null;
  isImpersonating: boolean;
  action: string;
  outcome: AuditOutcome;
  targetType: string | null;
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

// One taxonomy for server and panel: the server's list, not a copy of it.
export { AUDIT_ACTIONS } from "../../../src/audit/actions";
