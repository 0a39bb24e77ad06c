import { useSignal } from "@preact/signals";
import { del, post } from "../api/client";
import { hasSecondFactor, ROLE_RANK, type TeamMember } from "../api/types";
import { canViewSecurity, me } from "../state/auth";
import { appUrl, onLinkClick } from "../state/router";
import { ActionsMenu, type MenuItem } from "./ActionsMenu";
import { ImpersonateDialog } from "./ImpersonateDialog";
import { RoleDialog } from "./RoleDialog";
import { toast } from "../state/toast";
import { ConfirmDialog } from "./ConfirmDialog";
import { Modal } from "./Modal";

type Action = "disable" | "enable" | "remove" | "mfa-reset" | "password-reset" | "logout" | "role" | "impersonate";

/** "1 session", "3 sessions". */
const sessions = (n: number) => `${n} ${n === 1 ? "session" : "sessions"}`;

/**
 * A manageable member's actions on the Team page, behind one menu: their sessions, role,
 * impersonation and password reset link first; then, apart, what ends access (force logout,
 * two-factor reset, disable, remove), each confirmed in a dialog. The page shows it only for
 * members the viewer may manage (same rank rule as the API); the API decides, each behind a step-up.
 */
export function MemberActions({ member, onChanged }: { member: TeamMember; onChanged: () => Promise<void> | void }) {
  const pending = useSignal<Action | null>(null);
  const issued = useSignal<{ link: string; emailed: boolean } | null>(null);
  const self = me.value?.user;
  const disabled = member.disabledAt !== null;
  // Only an owner takes away an admin's second factor.
  const mayResetMfa = hasSecondFactor(member) && (member.role === "member" || self?.role === "owner");
  const mayImpersonate = !!self && ROLE_RANK[self.role] > ROLE_RANK[member.role] && !disabled;
  const path = `/api/users/${encodeURIComponent(member.id)}`;
  const name = member.displayName;
  const close = () => (pending.value = null);
  const open = (action: Action) => () => (pending.value = action);
  const item = (label: string, action: Action, danger = false): MenuItem => ({ label, onSelect: open(action), danger });

  const first: MenuItem[] = [
    ...(canViewSecurity.value ? [{ label: "View sessions", href: appUrl(`/security/sessions?userId=${encodeURIComponent(member.id)}`), onNavigate: onLinkClick }] : []),
    item("Change role…", "role"),
    ...(mayImpersonate ? [item("Impersonate…", "impersonate")] : []),
    ...(disabled ? [] : [item("Send password reset link…", "password-reset")]),
  ];
  const ending: MenuItem[] = disabled
    ? [item("Enable…", "enable"), item("Remove…", "remove", true)]
    : [item("Force logout…", "logout", true), ...(mayResetMfa ? [item("Reset two-factor…", "mfa-reset", true)] : []), item("Disable…", "disable", true), item("Remove…", "remove", true)];

  return (
    <>
      <ActionsMenu label={`Actions for ${name}`} groups={[first, ending]}>
        Actions <span aria-hidden="true">▾</span>
      </ActionsMenu>

      {pending.value === "role" && <RoleDialog member={member} onClose={close} onChanged={onChanged} />}
      {pending.value === "impersonate" && <ImpersonateDialog member={member} onClose={close} />}
      {pending.value === "logout" && (
        <ConfirmDialog
          title={`Sign ${name} out everywhere?`}
          confirmLabel="Force logout"
          danger
          onClose={close}
          onConfirm={async () => {
            const res = await post<{ success: boolean; revoked: number }>(`${path}/force-logout`);
            toast(res.revoked === 0 ? `${name} had no open sessions; they stay able to sign in.` : `Signed ${name} out of ${sessions(res.revoked)}.`);
          }}
        >
          <p>Every session of {member.email} ends on its next request. They can sign in again.</p>
        </ConfirmDialog>
      )}
      {pending.value === "disable" && (
        <ConfirmDialog
          title={`Disable ${name}?`}
          confirmLabel="Disable"
          danger
          onClose={close}
          onConfirm={async () => {
            await post(`${path}/disable`);
            toast(`${name} is disabled and signed out everywhere.`);
            await onChanged();
          }}
        >
          <p>Every session of {member.email} ends on its next request and they cannot sign in until enabled again.</p>
        </ConfirmDialog>
      )}
      {pending.value === "enable" && (
        <ConfirmDialog
          title={`Enable ${name}?`}
          confirmLabel="Enable"
          onClose={close}
          onConfirm={async () => {
            await post(`${path}/enable`);
            toast(`${name} can sign in again.`);
            await onChanged();
          }}
        >
          <p>{member.email} can sign in again. Sessions that ended when they were disabled stay ended.</p>
        </ConfirmDialog>
      )}
      {pending.value === "remove" && (
        <ConfirmDialog
          title={`Remove ${name} from the organization?`}
          confirmLabel="Remove"
          danger
          onClose={close}
          onConfirm={async () => {
            await del(path);
            toast(`${name} was removed.`);
            await onChanged();
          }}
        >
          <p>Their sessions end, their password and two-factor are deleted and they leave the team. Their audit history stays.</p>
        </ConfirmDialog>
      )}
      {pending.value === "mfa-reset" && (
        <ConfirmDialog
          title={`Reset ${name}'s two-factor authentication?`}
          confirmLabel="Reset 2FA"
          danger
          onClose={close}
          onConfirm={async () => {
            await post(`${path}/mfa-reset`);
            toast(`${name}'s two-factor authentication was removed.`);
            await onChanged();
          }}
        >
          <p>Their authenticator app, passkeys and recovery codes stop working and their sessions end. They set up two-factor again after signing in.</p>
        </ConfirmDialog>
      )}
      {pending.value === "password-reset" && (
        <ConfirmDialog
          title={`Send ${name} a password reset link?`}
          confirmLabel="Create link"
          onClose={close}
          onConfirm={async () => {
            issued.value = await post<{ link: string; emailed: boolean }>(`${path}/password-reset`);
          }}
        >
          <p>The link works once, for one hour. Their sessions end now.</p>
        </ConfirmDialog>
      )}
      {issued.value && (
        <Modal title="Password reset link" onClose={() => (issued.value = null)}>
          <p>{issued.value.emailed ? `Sent to ${member.email}. You can also give them this link:` : `Give ${member.email} this link (it is shown once):`}</p>
          <label class="visually-hidden" for={`reset-link-${member.id}`}>
            Reset link
          </label>
          <input id={`reset-link-${member.id}`} class="mono" readOnly value={issued.value.link} onFocus={(e) => e.currentTarget.select()} />
          <div class="modal-actions">
            <button
              type="button"
              class="button"
              onClick={() => void navigator.clipboard?.writeText(issued.value?.link ?? "").then(() => toast("Link copied."), () => undefined)}
            >
              Copy
            </button>
            <button type="button" class="button button-primary" data-autofocus onClick={() => (issued.value = null)}>
              Done
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
