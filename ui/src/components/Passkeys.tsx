import { useSignal } from "@preact/signals";
import { del, get, patch, post } from "../api/client";
import type { Passkey } from "../api/types";
import { describeError } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { createPasskey, isAborted, passkeysSupported, type PublicKeyCredentialCreationOptionsJSON } from "../lib/passkey";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { loadMe, me } from "../state/auth";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { ConfirmDialog } from "./ConfirmDialog";
import { Modal } from "./Modal";
import { RelativeTime } from "./Time";

/** The API's limits (src/passkeys/routes.ts, src/passkeys/store.ts). */
const MAX_NAME = 64;
const MAX_PASSKEYS = 10;

type Added = { passkey: Passkey; recoveryCodes?: string[] };

function AddPasskey({ count, onAdded }: { count: number; onAdded: (added: Added) => Promise<void> }) {
  const name = useSignal("");
  // Optional, trimmed and at most MAX_NAME long in the page: a refusal of it can only come from the API.
  const form = useFormFields({ name: "passkey-name" });
  const { busy, error, run } = useAction(
    async () => {
      // Step-up first (the fetch layer's modal): a password proof for a first factor, a second factor otherwise.
      const { options } = await post<{ options: PublicKeyCredentialCreationOptionsJSON }>("/api/security/mfa/passkeys/options");
      const response = await createPasskey(options);
      const trimmed = name.value.trim();
      await onAdded(await post<Added>("/api/security/mfa/passkeys", { response, ...(trimmed ? { name: trimmed } : {}) }));
      name.value = "";
    },
    {
      onError: (err) => {
        if (!isAborted(err) && !form.fromApi(err, { name: `Use a name of 1 to ${MAX_NAME} characters.` })) error.value = describeError(err);
      },
    },
  );
  const full = count >= MAX_PASSKEYS;

  return (
    <form
      class="inline-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!full) void run();
      }}
    >
      <div class="field field-grow">
        <label for="passkey-name">Passkey name (optional)</label>
        <input
          {...form.props("name")}
          maxLength={MAX_NAME}
          placeholder="Work laptop, phone, security key…"
          value={name.value}
          onInput={(e) => (name.value = e.currentTarget.value)}
        />
        <FieldError form={form} field="name" />
      </div>
      <button type="submit" class="button button-primary" aria-disabled={busy.value || full}>
        {busy.value ? "Adding…" : "Add a passkey"}
      </button>
      <div class="field-grow">
        <Alert>{full ? `You have ${MAX_PASSKEYS} passkeys, the most an account may have. Remove one to add another.` : error.value}</Alert>
      </div>
    </form>
  );
}

function RenameDialog({ passkey, onClose, onRenamed }: { passkey: Passkey; onClose: () => void; onRenamed: () => Promise<void> }) {
  const name = useSignal(passkey.name);
  const form = useFormFields({ name: "passkey-rename" });
  const { busy, error, run } = useAction(
    async (value: string) => {
      await patch(`/api/security/mfa/passkeys/${encodeURIComponent(passkey.id)}`, { name: value });
      await onRenamed();
      toast("Passkey renamed.");
      onClose();
    },
    { onError: (err) => void (form.fromApi(err, { name: `Use a name of 1 to ${MAX_NAME} characters.` }) || (error.value = describeError(err))) },
  );
  return (
    <Modal title="Rename passkey" onClose={() => !busy.value && onClose()}>
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const value = name.value.trim();
          if (form.check({ name: !value && "Enter a name, such as the device the passkey is on." })) void run(value);
        }}
      >
        <div class="field">
          <label for="passkey-rename">Name</label>
          <input {...form.props("name")} data-autofocus maxLength={MAX_NAME} value={name.value} onInput={(e) => (name.value = e.currentTarget.value)} />
          <FieldError form={form} field="name" />
        </div>
        <Alert>{error.value}</Alert>
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => !busy.value && onClose()}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" aria-disabled={busy.value}>
            {busy.value ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PasskeyRow({ passkey, onRename, onRemove }: { passkey: Passkey; onRename: () => void; onRemove: () => void }) {
  return (
    <li class="passkey" data-passkey-id={passkey.id}>
      <div class="passkey-main">
        <p class="session-title">
          <span>{passkey.name}</span>
          {passkey.backedUp ? <span class="badge badge-neutral">Synced</span> : <span class="badge badge-neutral">This device only</span>}
        </p>
        <p class="session-meta">
          Added <RelativeTime iso={passkey.createdAt} /> ·{" "}
          {passkey.lastUsedAt ? (
            <>
              last used <RelativeTime iso={passkey.lastUsedAt} />
            </>
          ) : (
            "never used"
          )}
        </p>
      </div>
      <div class="member-actions">
        <button type="button" class="button button-small" onClick={onRename} aria-label={`Rename ${passkey.name}`}>
          Rename
        </button>
        <button type="button" class="button button-small button-danger-outline" onClick={onRemove} aria-label={`Remove ${passkey.name}`}>
          Remove
        </button>
      </div>
    </li>
  );
}

/**
 * The Passkeys card of the two-factor page: add one (step-up, then the browser's prompt),
 * list them (synced or device-bound, last use), rename, remove. A first factor's answer
 * carries recovery codes, which the page shows once (`onRecoveryCodes`).
 */
export function Passkeys({ enrolling, onRecoveryCodes }: { enrolling: boolean; onRecoveryCodes: (codes: string[]) => void }) {
  // Enrolling (the tenant requires two-factor, and the user has none): no passkey to list, and
  // the API lets through only adding one (src/tenant/enrolment-gate.ts).
  const list = useLoad(() => (enrolling ? Promise.resolve({ passkeys: [] }) : get<{ passkeys: Passkey[] }>("/api/security/mfa/passkeys")), [enrolling]);
  const renaming = useSignal<Passkey | null>(null);
  const removing = useSignal<Passkey | null>(null);
  const passkeys = list.data.value?.passkeys ?? [];
  const user = me.value?.user;
  // Removing the last passkey of an account without an authenticator app takes its recovery codes too.
  const lastFactor = passkeys.length === 1 && user?.totpEnabled === false;

  async function added({ passkey, recoveryCodes }: Added) {
    toast(`Passkey "${passkey.name}" added.`);
    // A first factor's recovery codes: the page shows them, then reloads who the user is (which may end a required enrolment).
    if (recoveryCodes) onRecoveryCodes(recoveryCodes);
    else await Promise.all([list.reload(), loadMe()]);
  }

  return (
    <section class="card" id="passkeys" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">
        Passkeys {passkeys.length > 0 && <span class="count">{passkeys.length}</span>}
      </h2>
      <p class="muted">
        A passkey signs you in with your device's screen lock, your phone or a security key, and cannot be phished: it only works on this site, so a
        fake sign-in page cannot relay it. Synced passkeys live in your password manager or cloud keychain; the others stay on one device.
      </p>
      <Alert>{list.error.value}</Alert>
      {list.loading.value && !list.data.value ? (
        <p class="empty" role="status">
          Loading passkeys…
        </p>
      ) : passkeys.length === 0 ? (
        <p class="empty">No passkeys yet.</p>
      ) : (
        <ul class="passkey-list" aria-label="Your passkeys">
          {passkeys.map((p) => (
            <PasskeyRow key={p.id} passkey={p} onRename={() => (renaming.value = p)} onRemove={() => (removing.value = p)} />
          ))}
        </ul>
      )}
      {passkeysSupported() ? (
        <AddPasskey count={passkeys.length} onAdded={added} />
      ) : (
        <Alert tone="info">This browser cannot create passkeys. Use a recent version of Chrome, Edge, Firefox or Safari.</Alert>
      )}
      {renaming.value && <RenameDialog passkey={renaming.value} onClose={() => (renaming.value = null)} onRenamed={list.reload} />}
      {removing.value && (
        <ConfirmDialog
          title={`Remove "${removing.value.name}"?`}
          confirmLabel="Remove passkey"
          danger
          onClose={() => (removing.value = null)}
          onConfirm={async () => {
            const gone = removing.value;
            if (!gone) return;
            await del(`/api/security/mfa/passkeys/${encodeURIComponent(gone.id)}`);
            await Promise.all([list.reload(), loadMe()]);
            toast(`Passkey "${gone.name}" removed.`);
          }}
        >
          <p>
            It will no longer sign you in or confirm it's you.
            {lastFactor && " It is your last second factor: your recovery codes stop working too, and your password alone will protect your account."}
            {" "}Remove it from your device or password manager as well.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
