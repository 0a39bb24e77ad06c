import { useSignal } from "@preact/signals";
import { get, patch, post } from "../api/client";
import { hasSecondFactor, ROLE_RANK, ROLES, type Role, type TeamMember } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ImpersonateDialog } from "../components/ImpersonateDialog";
import { MemberActions } from "../components/MemberActions";
import { TenantPolicy } from "../components/TenantPolicy";
import { Invitations } from "../components/Invitations";
import { PageHeader } from "../components/Layout";
import { RelativeTime } from "../components/Time";
import { useLoad } from "../lib/useLoad";
import { canEditSecurity, canViewSecurity, me } from "../state/auth";
import { appUrl, onLinkClick } from "../state/router";
import { toast } from "../state/toast";

const initials = (name: string) =>
  name
    .split(/\s+/)
    .map((w) => w[0] ?? "")
    .join("")
    .slice(0, 2)
    .toUpperCase();

type Pending = { kind: "logout"; member: TeamMember } | { kind: "role"; member: TeamMember; role: Role } | { kind: "impersonate"; member: TeamMember };

export function TeamPage() {
  const list = useLoad(() => get<{ users: TeamMember[] }>("/api/users"));
  const pending = useSignal<Pending | null>(null);
  const self = me.value?.user;
  // Mirrors the API's rule (nobody acts on a higher role) so we don't offer doomed buttons.
  const mayManage = (m: TeamMember) => canEditSecurity.value && !!self && m.id !== self.id && ROLE_RANK[self.role] >= ROLE_RANK[m.role];

  const p = pending.value;
  return (
    <>
      <PageHeader title="Team">Members of your organization, their roles and two-factor status.</PageHeader>
      <Alert>{list.error.value}</Alert>
      <section class="card" aria-labelledby="members-heading">
        <h2 id="members-heading">
          Members {list.data.value && <span class="count">{list.data.value.users.length}</span>}
        </h2>
        {list.loading.value && !list.data.value ? (
          <p class="empty" role="status">Loading members…</p>
        ) : (
          <ul class="member-list">
            {(list.data.value?.users ?? []).map((m) => (
              <li key={m.id} class="member" data-user-id={m.id}>
                <span class="avatar" aria-hidden="true">
                  {initials(m.displayName)}
                </span>
                <div class="member-main">
                  <p class="member-name">
                    {m.displayName} {m.id === self?.id && <span class="badge badge-neutral">You</span>}
                    {m.disabledAt && <span class="badge badge-red">Disabled</span>}
                    {m.sso && <span class="badge badge-neutral" title="Signs in through your identity provider">SSO</span>}
                    {m.scim && <span class="badge badge-neutral" title="Managed by your identity provider (SCIM)">SCIM</span>}
                  </p>
                  <p class="muted">{m.email}</p>
                  <p class="muted small">
                    {hasSecondFactor(m) ? <span class="badge badge-green">2FA on</span> : <span class="badge badge-amber">No 2FA</span>} · joined{" "}
                    <RelativeTime iso={m.createdAt} />
                  </p>
                </div>
                <div class="member-actions">
                  {canViewSecurity.value && !!self && m.id !== self.id && ROLE_RANK[self.role] >= ROLE_RANK[m.role] && (
                    <a class="button button-small" href={appUrl(`/security/sessions?userId=${encodeURIComponent(m.id)}`)} onClick={onLinkClick}>
                      Sessions
                    </a>
                  )}
                  {mayManage(m) ? (
                    <>
                      <label class="visually-hidden" for={`role-${m.id}`}>
                        Role of {m.displayName}
                      </label>
                      <select
                        id={`role-${m.id}`}
                        value={m.role}
                        onChange={(e) => {
                          const role = e.currentTarget.value as Role;
                          // Keep showing the saved role until the change is confirmed.
                          e.currentTarget.value = m.role;
                          if (role !== m.role) pending.value = { kind: "role", member: m, role };
                        }}
                      >
                        {ROLES.filter((r) => self && ROLE_RANK[r] <= ROLE_RANK[self.role]).map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                      {self && ROLE_RANK[self.role] > ROLE_RANK[m.role] && (
                        <button type="button" class="button button-small" onClick={() => (pending.value = { kind: "impersonate", member: m })}>
                          Impersonate
                        </button>
                      )}
                      <button type="button" class="button button-small button-danger-outline" onClick={() => (pending.value = { kind: "logout", member: m })}>
                        Force logout
                      </button>
                      <MemberActions member={m} onChanged={list.reload} />
                    </>
                  ) : (
                    <span class="badge badge-neutral">{m.role}</span>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      {canViewSecurity.value && <TenantPolicy />}
      <Invitations />

      {p?.kind === "impersonate" && <ImpersonateDialog member={p.member} onClose={() => (pending.value = null)} />}
      {p?.kind === "logout" && (
        <ConfirmDialog
          title={`Sign ${p.member.displayName} out everywhere?`}
          confirmLabel="Force logout"
          danger
          onClose={() => (pending.value = null)}
          onConfirm={async () => {
            const res = await post<{ success: boolean; revoked: number }>(`/api/users/${encodeURIComponent(p.member.id)}/force-logout`);
            toast(`Signed ${p.member.displayName} out of ${res.revoked} ${res.revoked === 1 ? "session" : "sessions"}.`);
          }}
        >
          <p>Every session of {p.member.email} ends on its next request. They can sign in again.</p>
        </ConfirmDialog>
      )}
      {p?.kind === "role" && (
        <ConfirmDialog
          title={`Make ${p.member.displayName} ${p.role === "admin" ? "an" : "a"} ${p.role}?`}
          confirmLabel="Change role"
          onClose={() => (pending.value = null)}
          onConfirm={async () => {
            await patch(`/api/users/${encodeURIComponent(p.member.id)}/role`, { role: p.role });
            toast(`${p.member.displayName} is now ${p.role === "admin" ? "an" : "a"} ${p.role}.`);
            await list.reload();
          }}
        >
          <p>
            {p.member.displayName} goes from {p.member.role} to {p.role}. Their permissions change on their next request.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
