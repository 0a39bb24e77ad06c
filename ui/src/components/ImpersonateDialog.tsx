import { useSignal } from "@preact/signals";
import { post } from "../api/client";
import type { TeamMember } from "../api/types";
import { describeError } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { loadMe } from "../state/auth";
import { navigate } from "../state/router";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { Modal, ModalFormActions } from "./Modal";
import { branding } from "../state/branding";

const MIN = 3;
const MAX = 500;

/** Impersonation always states why: the reason is shown in the banner and kept in the audit log. */
export function ImpersonateDialog({ member, onClose }: { member: TeamMember; onClose: () => void }) {
  const reason = useSignal("");
  const form = useFormFields({ reason: "impersonate-reason" });
  const reasonWords = `Give a reason of ${MIN} to ${MAX} characters, such as a support ticket number.`;
  const { busy, error, run } = useAction(
    async (r: string) => {
      await post(`/api/impersonate/${encodeURIComponent(member.id)}`, { reason: r });
      await loadMe();
      toast(`You are now acting as ${member.displayName}.`);
      navigate("/security/sessions");
    },
    { onError: (err) => void (form.fromApi(err, { reason: reasonWords }) || (error.value = describeError(err))) },
  );

  function start(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    const r = reason.value.trim();
    if (form.check({ reason: r.length < MIN && reasonWords })) void run(r);
  }

  return (
    <Modal
      title={`Act as ${member.displayName}`}
      onClose={() => !busy.value && onClose()}
      description={<p>You will see {branding.value.name} as {member.email} sees it. Every action is recorded with your name and this reason.</p>}
    >
      <form onSubmit={start} class="stack" noValidate>
        <div class="field">
          <label for="impersonate-reason">Reason</label>
          <textarea {...form.props("reason", "impersonate-count")} rows={3} maxLength={MAX} value={reason.value} onInput={(e) => (reason.value = e.currentTarget.value)} />
          <p id="impersonate-count" class="hint">
            {reason.value.length}/{MAX} characters
          </p>
          <FieldError form={form} field="reason" />
        </div>
        <Alert>{error.value}</Alert>
        <ModalFormActions busy={busy.value} onCancel={onClose} label="Start impersonating" busyLabel="Starting…" />
      </form>
    </Modal>
  );
}
