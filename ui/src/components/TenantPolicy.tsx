import { useSignal } from "@preact/signals";
import { get, patch } from "../api/client";
import { PHISHING_RESISTANT_SCOPES, type PhishingResistantScope } from "../api/types";
import { useLoad } from "../lib/useLoad";
import { me } from "../state/auth";
import { toast } from "../state/toast";
import { Alert } from "./Alert";
import { ConfirmDialog } from "./ConfirmDialog";
import { branding } from "../state/branding";

type Policy = { requireTwoFactor: boolean; requirePhishingResistant: PhishingResistantScope };
type Change = Pick<Policy, "requireTwoFactor"> | Pick<Policy, "requirePhishingResistant">;

/** What each scope means (the API decides it: src/stepup/phishing-resistance.ts). */
const SCOPES: Record<PhishingResistantScope, { label: string; means: string }> = {
  off: { label: "Off", means: "Any second factor confirms any action: a passkey, a code from an authenticator app or a recovery code." },
  admins: {
    label: "Owners and admins",
    means:
      "Owners and admins must confirm admin actions (force logout, IP rules, impersonation, roles, member access, two-factor and password resets, this policy) with a passkey. Members are not affected.",
  },
  everyone: { label: "Everyone", means: "Every member must confirm every sensitive action with a passkey." },
};

const confirmation = (c: Change) =>
  "requireTwoFactor" in c
    ? c.requireTwoFactor
      ? { title: "Require two-factor for everyone?", label: "Require two-factor", text: "Members without two-factor must set it up before their next action.", done: "Two-factor is now required." }
      : { title: "Stop requiring two-factor?", label: "Stop requiring", text: `Members may use ${branding.value.name} without two-factor again.`, done: "Two-factor is no longer required." }
    : {
        title: `Passkeys required: ${SCOPES[c.requirePhishingResistant].label.toLowerCase()}?`,
        label: "Change policy",
        text: SCOPES[c.requirePhishingResistant].means,
        done: "The passkey policy was changed.",
      };

/** The organisation's policy on the Team page: owners change it (with step-up), admins see it. */
export function TenantPolicy() {
  const policy = useLoad(() => get<{ policy: Policy }>("/api/tenant/policy"));
  const next = useSignal<Change | null>(null);
  const isOwner = me.value?.user.role === "owner";
  const current = policy.data.value?.policy;
  const pending = next.value ? confirmation(next.value) : null;

  return (
    <section class="card" aria-labelledby="policy-heading">
      <h2 id="policy-heading">Policy</h2>
      <Alert>{policy.error.value}</Alert>
      {current && (
        <div class="stack">
          <div>
            <label class="checkbox">
              <input
                type="checkbox"
                checked={current.requireTwoFactor}
                disabled={!isOwner}
                onChange={(e) => {
                  const want = e.currentTarget.checked;
                  e.currentTarget.checked = current.requireTwoFactor; // the saved value until confirmed
                  next.value = { requireTwoFactor: want };
                }}
              />{" "}
              Require two-factor authentication for everyone
            </label>
            <p class="muted small">Members without two-factor are sent to set it up when they sign in, and can do nothing else until they have.</p>
          </div>
          <fieldset class="field">
            <legend>Require passkeys</legend>
            <p class="muted small">
              A passkey only works on this site, so a phishing site cannot relay it as it can a password or a code. Members add one on their two-factor
              page; until they have, what the policy covers is closed to them, so ask them to add one first.
            </p>
            {PHISHING_RESISTANT_SCOPES.map((scope) => (
              <div key={scope}>
                <label class="checkbox">
                  <input
                    type="radio"
                    name="require-passkeys"
                    value={scope}
                    checked={current.requirePhishingResistant === scope}
                    disabled={!isOwner}
                    aria-describedby={`passkeys-${scope}`}
                    onChange={(e) => {
                      // The saved value until confirmed.
                      const saved = e.currentTarget.closest("fieldset")?.querySelector<HTMLInputElement>(`input[value="${current.requirePhishingResistant}"]`);
                      if (saved) saved.checked = true;
                      next.value = { requirePhishingResistant: scope };
                    }}
                  />{" "}
                  {SCOPES[scope].label}
                </label>
                <p id={`passkeys-${scope}`} class="muted small option-hint">
                  {SCOPES[scope].means}
                </p>
              </div>
            ))}
          </fieldset>
          {!isOwner && <p class="muted small">Only an owner can change these.</p>}
        </div>
      )}
      {next.value && pending && (
        <ConfirmDialog
          title={pending.title}
          confirmLabel={pending.label}
          onClose={() => (next.value = null)}
          onConfirm={async () => {
            await patch("/api/tenant/policy", next.value);
            await policy.reload();
            toast(pending.done);
          }}
        >
          <p>{pending.text}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
