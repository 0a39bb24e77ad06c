/**
 * Gatehouse's RPC entrypoint, `GatehouseService`, as standalone types: bind it in your
 * Worker (docs/rpc.md) and type the binding with `GatehouseRpc`, without importing
 * Gatehouse's source. Every refusal is `{ ok: false, status, error, message, ...details }`
 * with the HTTP API's status and codes. Gatehouse's own src/rpc/types.ts re-exports these;
 * test/product-package.test.ts checks them against its schemas and answers.
 */

/** How a member can verify for a step-up. */
export type StepUpMethod = "password" | "totp" | "recovery_code" | "passkey";

/** The client request's headers as the calling Worker received them, or the Request itself. */
export type AuthenticateInput =
  | {
      /** At least `Cookie`; `CF-Connecting-IP` and `User-Agent` as the edge set them. Others are ignored. */
      headers: [string, string][] | Record<string, string>;
      /** The client's address; replaces any `CF-Connecting-IP` in `headers`. */
      clientIp?: string;
    }
  | Request;

export type RpcUser = {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  role: "owner" | "admin" | "member";
  permissions: string[];
  totpEnabled: boolean;
  passkeyCount: number;
};

export type Authenticated = {
  ok: true;
  /** Whom the request acts as: the impersonated user while an admin impersonates. */
  user: RpcUser;
  tenant: { id: string };
  session: { id: string; expiresAt: string; amr: string[] };
  /** Present only while an admin impersonates `user`: the admin who really acts. */
  impersonation?: {
    realUser: { id: string; email: string; displayName: string };
    reason: string;
    startedAt: string;
    expiresAt: string;
  };
};

/** A refusal, as the HTTP API would answer it: status, code, message and the same details. */
export type RpcFailure = {
  ok: false;
  status: number;
  /** UNAUTHORIZED, SESSION_REVOKED, SESSION_INVALIDATED, IP_BLOCKED, AUTH_UNAVAILABLE, VALIDATION_FAILED, ... */
  error: string;
  message: string;
  [detail: string]: unknown;
};

export type StepUpRequired = RpcFailure & {
  status: 428;
  error: "STEP_UP_REQUIRED";
  purpose: string;
  methods: StepUpMethod[];
  enrollmentRequired?: true;
  /** A product purpose's label, e.g. "delete a note". */
  label?: string;
};

export type RequireStepUpInput = { sessionId: string; purpose: string };

/** An action of the product: `app.` and lower-case dotted segments, e.g. `app.note.deleted`. */
export type ProductAuditAction = `app.${string}`;

/** One product event, as over HTTP (the session and the user come from the assertion there). */
export type ProductAuditEvent = {
  action: ProductAuditAction;
  outcome: "SUCCESS" | "FAIL";
  /** 1-32 of a-z, 0-9 and _, starting with a letter, e.g. `note`. */
  targetType?: string;
  targetId?: string;
  failureReason?: string;
  /** Any JSON, at most 8 KiB each. */
  before?: unknown;
  after?: unknown;
  metadata?: Record<string, unknown>;
  /** The client's address (CF-Connecting-IP of the product's request). */
  ip?: string;
  userAgent?: string;
  /** The product's id for its request, to correlate logs. */
  requestId?: string;
  /**
   * The product's key for this event, 16-128 of A-Z, a-z, 0-9, `.`, `_`, `:` and `-` (e.g. a
   * UUID), scoped to the session's tenant and kept 24 hours: a call repeated with the same
   * key and the same input records nothing new and answers the first recording (`replayed`);
   * the same key with any other input is 409 IDEMPOTENCY_KEY_REUSED.
   */
  idempotencyKey?: string;
};

export type AuditEventInput = ProductAuditEvent & {
  sessionId: string;
  /**
   * Whom the product's action was for: the `user.id` authenticate answered (the assertion's
   * `sub`). The event is recorded only while the session still acts as this user: 409
   * IMPERSONATION_ENDED when the impersonation it acted in has ended since, 409
   * ACTING_USER_CHANGED when it impersonates someone else since.
   */
  userId: string;
};

type AuditPlace = { seq: number; hash: string | null; placeUnavailable?: never };
type AuditPlaceUnavailable = { placeUnavailable: true; seq?: never; hash?: never };

/** Recorded (committed): never retry it without its idempotency key. */
export type AuditRecorded = { ok: true; id: string; replayed?: true } & (AuditPlace | AuditPlaceUnavailable);

export type AuthenticateResult = Authenticated | RpcFailure;
export type RequireStepUpResult = { ok: true } | StepUpRequired | RpcFailure;
export type RecordAuditEventResult = AuditRecorded | RpcFailure;

/** The service binding to `GatehouseService` (`[[services]] … entrypoint = "GatehouseService"`). */
export interface GatehouseRpc {
  authenticate(input: AuthenticateInput): Promise<AuthenticateResult>;
  requireStepUp(input: RequireStepUpInput): Promise<RequireStepUpResult>;
  recordAuditEvent(input: AuditEventInput): Promise<RecordAuditEventResult>;
}
