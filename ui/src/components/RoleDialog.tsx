import { useSignal } from "@preact/signals";
import { patch } from "../api/client";
import { ROLE_RANK, ROLES, type Role, type TeamMember } from "../api/types";
import { useAction } from "../lib/useAction";
import { me } from "../state/auth";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { Modal, ModalFormActions } from "./Modal";

const withArticle = (role: Role) => `${role === "admin" || role === "owner" ? "an" : "a"} ${role}`;

/** Changing a member's role: pick one (up to your own), then confirm what it changes. */
export function RoleDialog({ member, onClose, onChanged }: { member: TeamMember; onClose: () => void; onChanged: () => Promise<void> | void }) {
  const self = me.value?.user;
  const role = useSignal<Role>(member.role);
  const { busy, error, run } = useAction(async () => {
    await patch(`/api/users/${encodeURIComponent(member.id)}/role`, { role: role.value });
    toast(`${member.displayName} is now ${withArticle(role.value)}.`);
    await onChanged();
    onClose();
  });
  const changed = role.value !== member.role;
  return (
    <Modal title={`Change ${member.displayName}'s role`} onClose={() => !busy.value && onClose()}>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (changed) void run();
        }}
      >
        <div class="field">
          <label for="role-choice">Role</label>
          <select id="role-choice" value={role.value} onChange={(e) => (role.value = e.currentTarget.value as Role)}>
            {ROLES.filter((r) => self && ROLE_RANK[r] <= ROLE_RANK[self.role]).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <p class="hint" role="status">
            {changed
              ? `${member.displayName} goes from ${member.role} to ${role.value}. Their permissions change on their next request.`
              : `${member.displayName} is ${withArticle(member.role)}.`}
          </p>
        </div>
        <Alert>{error.value}</Alert>
        <ModalFormActions busy={busy.value} onCancel={onClose} label="Change role" busyLabel="Working…" disabled={!changed} />
      </form>
    </Modal>
  );
}
