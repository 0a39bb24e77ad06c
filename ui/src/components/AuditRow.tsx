import { useSignal } from "@preact/signals";
import type { AuditAction, AuditEntry, AuditTargetType } from "../api/types";
import { place } from "../lib/agent";
import { exact, RelativeTime } from "./Time";

const ACTION_LABELS: Record<AuditAction, string> = {
  LOGIN_SUCCEEDED: "Signed in",
  LOGIN_FAILED: "Sign-in failed",
  LOGOUT: "Signed out",
  SESSION_CREATED: "Session created",
  SESSION_REVOKED: "Session revoked",
  SESSION_REVOKE_ALL: "Other sessions signed out",
  SESSION_INVALIDATED: "Signed out everywhere",
  MFA_ENROLLMENT_STARTED: "Two-factor setup started",
  MFA_ENROLLED: "Two-factor turned on",
  MFA_DISABLED: "Two-factor turned off",
  MFA_RECOVERY_CODES_REGENERATED: "Recovery codes regenerated",
  MFA_RECOVERY_CODE_USED: "Recovery code used",
  STEP_UP_VERIFIED: "Step-up verification",
  IP_RULE_CREATED: "IP rule added",
  IP_RULE_UPDATED: "IP rule changed",
  IP_RULE_DELETED: "IP rule deleted",
  IP_ACCESS_DENIED: "Blocked by IP rules",
  IMPERSONATION_STARTED: "Impersonation started",
  IMPERSONATION_ENDED: "Impersonation ended",
  USER_ROLE_UPDATED: "Role changed",
  USER_PERMISSIONS_UPDATED: "Permissions changed",
  USER_DISABLED: "Member disabled",
  USER_ENABLED: "Member enabled",
  USER_REMOVED: "Member removed",
  MFA_RESET: "Two-factor reset by an admin",
  PASSKEY_ADDED: "Passkey added",
  PASSKEY_RENAMED: "Passkey renamed",
  PASSKEY_REMOVED: "Passkey removed",
  PASSWORD_CHANGED: "Password changed",
  PASSWORD_RESET_REQUESTED: "Password reset link issued",
  PASSWORD_RESET: "Password reset",
  PROFILE_UPDATED: "Profile updated",
  TENANT_POLICY_UPDATED: "Organization policy changed",
  TENANT_CREATED: "Organization created",
  TENANT_DISABLED: "Organization disabled",
  USER_INVITED: "Member invited",
  INVITATION_REVOKED: "Invitation revoked",
  INVITATION_ACCEPTED: "Invitation accepted",
  SSO_CONNECTION_SAVED: "Single sign-on saved",
  SSO_CONNECTION_DELETED: "Single sign-on removed",
  SSO_LOGOUT: "Signed out by the identity provider",
  SCIM_TOKEN_CREATED: "SCIM token created",
  SCIM_TOKEN_DELETED: "SCIM token deleted",
  SCIM_USER_CREATED: "Member provisioned by SCIM",
  SCIM_USER_UPDATED: "Member updated by SCIM",
  AUDIT_STREAM_SAVED: "Audit stream saved",
  AUDIT_STREAM_PAUSED: "Audit stream paused",
  AUDIT_STREAM_RESUMED: "Audit stream resumed",
  AUDIT_STREAM_REPLAYED: "Audit stream replayed",
  AUDIT_STREAM_DELETED: "Audit stream removed",
  REQUEST_REFUSED: "Request refused",
};

export const TARGET_LABELS: Record<AuditTargetType, string> = {
  user: "Member",
  session: "Session",
  ip_rule: "IP rule",
  ip_address: "IP address",
  tenant: "Organization",
  invitation: "Invitation",
  sso_connection: "Single sign-on",
  scim_token: "SCIM token",
  audit_stream: "audit stream",
};

const labelled = (a: string): a is AuditAction => Object.hasOwn(ACTION_LABELS, a);
/** The product's own actions (`app.…`, recorded through the RPC entrypoint) keep the name the product gave them. */
export const isProductAction = (a: string) => a.startsWith("app.");
// Unknown actions (a newer API) still read as words.
export const humanAction = (a: string) =>
  labelled(a) ? ACTION_LABELS[a] : isProductAction(a) ? a : a.charAt(0) + a.slice(1).toLowerCase().replace(/_/g, " ");
/** A product's target types (`note`, …) have no label here: shown as the product named them. */
const targetLabel = (t: string) => (Object.hasOwn(TARGET_LABELS, t) ? TARGET_LABELS[t as AuditTargetType] : t);
const json = (v: unknown) => (v === null || v === undefined ? "—" : JSON.stringify(v, null, 2));

export function AuditRow({ entry, name }: { entry: AuditEntry; name: (id: string | null) => string }) {
  const open = useSignal(false);
  const detailId = `audit-detail-${entry.id}`;
  const e = entry;
  return (
    <>
      <tr class={open.value ? "audit-row audit-row-open" : "audit-row"} data-action={e.action} data-outcome={e.outcome} data-seq={e.seq}>
        <td data-label="When">
          <RelativeTime iso={e.createdAt} />
        </td>
        <td data-label="Actor">
          {name(e.actorUserId)}
          {e.isImpersonating && <span class="muted small"> via {name(e.realUserId)}</span>}
        </td>
        <td data-label="Action">
          {isProductAction(e.action) ? <span class="mono">{e.action}</span> : humanAction(e.action)}
          {isProductAction(e.action) && <span class="badge small"> product</span>}
        </td>
        <td data-label="Outcome">
          <span class={e.outcome === "SUCCESS" ? "badge badge-green" : "badge badge-red"}>{e.outcome}</span>
        </td>
        <td data-label="Target" class="small">
          {e.targetType ? `${targetLabel(e.targetType)} ${e.targetType === "user" ? name(e.targetId) : (e.targetId ?? "")}` : "—"}
        </td>
        <td class="cell-actions">
          <button type="button" class="button button-small" aria-expanded={open.value} aria-controls={detailId} onClick={() => (open.value = !open.value)}>
            {open.value ? "Hide" : "Details"}
            <span class="visually-hidden"> for {humanAction(e.action)} #{e.seq}</span>
          </button>
        </td>
      </tr>
      {open.value && (
        <tr class="audit-detail" id={detailId}>
          <td colSpan={6}>
            <dl class="detail-grid">
              <dt>Sequence</dt>
              <dd class="mono">#{e.seq}</dd>
              <dt>Time</dt>
              <dd>{exact(e.createdAt)}</dd>
              <dt>Source</dt>
              <dd>
                <span class="mono">{e.ip ?? "unknown IP"}</span> · {place(e.city, e.country)}
              </dd>
              {e.failureReason && (
                <>
                  <dt>Failure</dt>
                  <dd class="mono">{e.failureReason}</dd>
                </>
              )}
              {e.isImpersonating && (
                <>
                  <dt>Impersonation</dt>
                  <dd>
                    {name(e.realUserId)} acting as {name(e.actorUserId)}
                  </dd>
                </>
              )}
              <dt>Request</dt>
              <dd class="mono small">{e.requestId ?? "—"}</dd>
              <dt>User agent</dt>
              <dd class="small">{e.userAgent ?? "—"}</dd>
            </dl>
            <div class="diff">
              <div>
                <h3>Before</h3>
                <pre>{json(e.before)}</pre>
              </div>
              <div>
                <h3>After</h3>
                <pre>{json(e.after)}</pre>
              </div>
              {e.metadata !== null && e.metadata !== undefined && (
                <div>
                  <h3>Metadata</h3>
                  <pre>{json(e.metadata)}</pre>
                </div>
              )}
            </div>
          </td>
        </tr>
      )}
    </>
  );
}
