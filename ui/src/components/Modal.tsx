import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

type Props = {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** Rendered under the title, linked as the dialog's description. */
  description?: ComponentChildren;
};

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal on the native <dialog> (showModal makes the rest of the page inert), plus
 * an explicit Tab trap and focus return so keyboard users never lose their place.
 */
export function Modal({ title, onClose, children, description }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>("[data-autofocus]") ?? dialog.querySelector<HTMLElement>("input, select, textarea");
    (first ?? dialog.querySelector<HTMLElement>(FOCUSABLE) ?? dialog).focus();
    return () => {
      if (dialog.open) dialog.close();
      // The trigger may be gone (a revoked row); fall back to the page heading.
      const target = previous?.isConnected ? previous : document.querySelector<HTMLElement>("main h1");
      target?.focus();
    };
  }, []);

  function onKeyDown(e: KeyboardEvent) {
    if (e.key !== "Tab" || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) return;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }

  return (
    <dialog
      ref={ref}
      class="modal"
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onKeyDown={onKeyDown}
      onCancel={(e) => {
        // Escape: let the owner decide (it may be busy), instead of the browser closing it.
        e.preventDefault();
        closeRef.current();
      }}
    >
      <div class="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={() => closeRef.current()}>
          ×
        </button>
      </div>
      {description && (
        <div id={descId} class="modal-desc">
          {description}
        </div>
      )}
      {children}
    </dialog>
  );
}

/** A dialog form's Cancel and submit buttons; while `busy`, neither acts and the submit says `busyLabel`. */
export function ModalFormActions({ busy, onCancel, label, busyLabel, disabled = false }: { busy: boolean; onCancel: () => void; label: string; busyLabel: string; disabled?: boolean }) {
  return (
    <div class="modal-actions">
      <button type="button" class="button" onClick={() => !busy && onCancel()} aria-disabled={busy}>
        Cancel
      </button>
      <button type="submit" class="button button-primary" aria-disabled={busy || disabled}>
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}
