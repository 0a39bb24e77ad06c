import { get } from "../api/client";
import { hasSecondFactor, ROLE_RANK, type TeamMember } from "../api/types";
import { Alert } from "../components/Alert";
import { MemberActions } from "../components/MemberActions";
import { TenantPolicy } from "../components/TenantPolicy";
import { Invitations } from "../components/Invitations";
import { PageHeader } from "../components/Layout";
import { RelativeTime } from "../components/Time";
import { useLoad } from "../lib/useLoad";
import { canEditSecurity, canViewSecurity, me } from "../state/auth";

const initials = (name: string) =>
  name
    .split(/\s+/)
    .map((w) => w[0] ?? "")
    .join("")
    .slice(0, 2)
    .toUpperCase();

export function TeamPage() {
  const list = useLoad(() => get<{ users: TeamMember[] }>("/api/users"));
  const self = me.value?.user;
  // Mirrors the API's rule (nobody acts on a higher role) so we don't offer doomed buttons.
  const mayManage = (m: TeamMember) => canEditSecurity.value && !!self && m.id !== self.id && ROLE_RANK[self.role] >= ROLE_RANK[m.role];

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
                    {m.displayName} <span class="badge badge-role">{m.role}</span>
                    {m.id === self?.id && <span class="badge badge-neutral">You</span>}
                    {m.disabledAt && <span class="badge badge-red">Disabled</span>}
                    {m.sso && <span class="badge badge-neutral" title="Signs in through your identity provider">SSO</span>}
                    {m.scim && <span class="badge badge-neutral" title="Managed by your identity provider (SCIM)">SCIM</span>}
                  </p>
                  <p class="muted member-email">{m.email}</p>
                  <p class="muted small">
                    {hasSecondFactor(m) ? <span class="badge badge-green">2FA on</span> : <span class="badge badge-amber">No 2FA</span>} · joined{" "}
                    <RelativeTime iso={m.createdAt} />
                  </p>
                </div>
                {mayManage(m) && (
                  <div class="member-actions">
                    <MemberActions member={m} onChanged={list.reload} />
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      {canViewSecurity.value && <TenantPolicy />}
      <Invitations />
    </>
  );
}
