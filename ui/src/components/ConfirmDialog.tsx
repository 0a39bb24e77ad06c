import type { ComponentChildren } from "preact";
import { useAction } from "../lib/useAction";
import { Alert } from "./Alert";
import { Modal } from "./Modal";

type Props = {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  /** Runs the action; the dialog closes itself when it resolves. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
};

export function ConfirmDialog({ title, children, confirmLabel, danger = false, onConfirm, onClose }: Props) {
  const { busy, error, run: confirm } = useAction(async () => {
    await onConfirm();
    onClose();
  });

  return (
    <Modal title={title} onClose={() => !busy.value && onClose()} description={children}>
      <Alert>{error.value}</Alert>
      <div class="modal-actions">
        <button type="button" class="button" onClick={() => !busy.value && onClose()} aria-disabled={busy.value}>
          Cancel
        </button>
        <button type="button" data-autofocus class={danger ? "button button-danger" : "button button-primary"} onClick={confirm} aria-disabled={busy.value}>
          {busy.value ? "Working…" : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
