import { useSignal } from "@preact/signals";
import { get, patch } from "../api/client";
import { useLoad } from "../lib/useLoad";
import { me } from "../state/auth";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { ConfirmDialog } from "./ConfirmDialog";

type Policy = { requireTwoFactor: boolean };

/** The organisation's policy on the Team page: owners change it (with step-up), admins see it. */
export function TenantPolicy() {
  const policy = useLoad(() => get<{ policy: Policy }>("/api/tenant/policy"));
  const next = useSignal<boolean | null>(null);
  const isOwner = me.value?.user.role === "owner";
  const current = policy.data.value?.policy.requireTwoFactor;

  return (
    <section class="card" aria-labelledby="policy-heading">
      <h2 id="policy-heading">Policy</h2>
      <Alert>{policy.error.value}</Alert>
      {current !== undefined && (
        <label class="checkbox">
          <input
            type="checkbox"
            checked={current}
            disabled={!isOwner}
            onChange={(e) => {
              const want = e.currentTarget.checked;
              e.currentTarget.checked = current; // the saved value until confirmed
              next.value = want;
            }}
          />{" "}
          Require two-factor authentication for everyone
        </label>
      )}
      <p class="muted small">
        Members without two-factor are sent to set it up when they sign in, and can do nothing else until they have.{" "}
        {!isOwner && "Only an owner can change this."}
      </p>
      {next.value !== null && (
        <ConfirmDialog
          title={next.value ? "Require two-factor for everyone?" : "Stop requiring two-factor?"}
          confirmLabel={next.value ? "Require two-factor" : "Stop requiring"}
          onClose={() => (next.value = null)}
          onConfirm={async () => {
            await patch("/api/tenant/policy", { requireTwoFactor: next.value });
            const required = next.value;
            await policy.reload();
            toast(required ? "Two-factor is now required." : "Two-factor is no longer required.");
          }}
        >
          <p>{next.value ? "Members without two-factor must set it up before their next action." : "Members may use Gatehouse without two-factor again."}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
