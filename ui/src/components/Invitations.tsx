import { useSignal } from "@preact/signals";
import { get, post } from "../api/client";
import { type Invitation, type InvitationCreated, type InvitationStatus, ROLE_RANK, ROLES, type Role } from "../api/types";
import { describeError } from "../lib/errors";
import { emailProblem, FieldError, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { canEditSecurity, me } from "../state/auth";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { ConfirmDialog } from "./ConfirmDialog";
import { RelativeTime } from "./Time";

const STATUS_BADGES: Record<InvitationStatus, string> = {
  pending: "badge-green",
  expired: "badge-amber",
  accepted: "badge-neutral",
  revoked: "badge-neutral",
};

/** The link just created or re-sent: shown once, to copy (only its hash is stored). */
function NewLink({ created, onDismiss }: { created: InvitationCreated; onDismiss: () => void }) {
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.link);
      toast("Invitation link copied.");
    } catch {
      toast("Copy failed: select the link and copy it by hand.");
    }
  }
  return (
    <div class="alert alert-success stack" role="status" data-testid="invitation-link">
      <p>
        Invitation for <strong>{created.invitation.email}</strong> ({created.invitation.role}).{" "}
        {created.emailed ? "It was also sent by email." : "Send them this link; it works once, for 7 days, and is shown only now."}
      </p>
      <div class="row">
        <label class="visually-hidden" for="invitation-link">
          Invitation link
        </label>
        <input id="invitation-link" class="field-grow" type="text" readOnly value={created.link} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="button button-small" onClick={copy}>
          Copy link
        </button>
        <button type="button" class="button button-small" onClick={onDismiss}>
          Done
        </button>
      </div>
    </div>
  );
}

/** The Team page's Invitations section: invite by email and role, pending invitations, re-send, revoke. */
export function Invitations() {
  const list = useLoad(() => get<{ invitations: Invitation[] }>("/api/users/invitations"));
  const email = useSignal("");
  const role = useSignal<Role>("member");
  const created = useSignal<InvitationCreated | null>(null);
  const revoking = useSignal<Invitation | null>(null);
  const self = me.value?.user;
  const assignable = ROLES.filter((r) => self && ROLE_RANK[r] <= ROLE_RANK[self.role]);
  // Mirrors the API's rank rule: no invitation to, or action on one for, a role above your own.
  const mayManage = (inv: Invitation) => canEditSecurity.value && !!self && ROLE_RANK[inv.role] <= ROLE_RANK[self.role];

  const form = useFormFields({ email: "invite-email" });
  const invite = useAction(
    async () => {
      created.value = await post<InvitationCreated>("/api/users/invitations", { email: email.value.trim(), role: role.value });
      email.value = "";
      await list.reload();
    },
    { onError: (err) => void (form.fromApi(err, { email: "Enter the address to invite, like name@example.com." }) || (invite.error.value = describeError(err))) },
  );
  const resend = useAction(async (inv: Invitation) => {
    created.value = await post<InvitationCreated>(`/api/users/invitations/${encodeURIComponent(inv.id)}/resend`);
    await list.reload();
  });

  const open = (list.data.value?.invitations ?? []).filter((i) => i.status === "pending" || i.status === "expired");
  return (
    <section class="card" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">
        Invitations {list.data.value && <span class="count">{open.length}</span>}
      </h2>
      <Alert>{list.error.value}</Alert>
      {canEditSecurity.value && (
        <form
          class="row"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (form.check({ email: emailProblem(email.value) && "Enter the address to invite, like name@example.com." })) void invite.run();
          }}
        >
          <div class="field field-grow">
            <label for="invite-email">Email address</label>
            <input {...form.props("email")} type="email" autoComplete="off" required value={email.value} onInput={(e) => (email.value = e.currentTarget.value)} />
            <FieldError form={form} field="email" />
          </div>
          <div class="field">
            <label for="invite-role">Role</label>
            <select id="invite-role" value={role.value} onChange={(e) => (role.value = e.currentTarget.value as Role)}>
              {assignable.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="button button-primary" aria-disabled={invite.busy.value}>
            {invite.busy.value ? "Inviting…" : "Invite"}
          </button>
        </form>
      )}
      <Alert>{invite.error.value ?? resend.error.value}</Alert>
      {created.value && <NewLink created={created.value} onDismiss={() => (created.value = null)} />}
      {list.loading.value && !list.data.value ? (
        <p class="empty" role="status">
          Loading invitations…
        </p>
      ) : open.length === 0 ? (
        <p class="empty">No pending invitations.</p>
      ) : (
        <ul class="member-list">
          {open.map((inv) => (
            <li key={inv.id} class="member invitation" data-invitation-id={inv.id}>
              <div class="member-main">
                <p class="member-name">
                  {inv.email} <span class={`badge ${STATUS_BADGES[inv.status]}`}>{inv.status}</span>
                </p>
                <p class="muted small">
                  {inv.role} · invited <RelativeTime iso={inv.createdAt} /> · {inv.status === "expired" ? "expired" : "expires"} <RelativeTime iso={inv.expiresAt} />
                </p>
              </div>
              <div class="member-actions">
                {mayManage(inv) ? (
                  <>
                    <button type="button" class="button button-small" aria-disabled={resend.busy.value} onClick={() => void resend.run(inv)}>
                      Re-send
                    </button>
                    <button type="button" class="button button-small button-danger-outline" onClick={() => (revoking.value = inv)}>
                      Revoke
                    </button>
                  </>
                ) : (
                  <span class="badge badge-neutral">{inv.role}</span>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {revoking.value && (
        <ConfirmDialog
          title={`Revoke the invitation for ${revoking.value.email}?`}
          confirmLabel="Revoke"
          danger
          onClose={() => (revoking.value = null)}
          onConfirm={async () => {
            const inv = revoking.value;
            if (!inv) return;
            await post(`/api/users/invitations/${encodeURIComponent(inv.id)}/revoke`);
            toast(`Invitation for ${inv.email} revoked.`);
            if (created.value?.invitation.id === inv.id) created.value = null;
            await list.reload();
          }}
        >
          <p>The link stops working at once. You can invite them again later.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
