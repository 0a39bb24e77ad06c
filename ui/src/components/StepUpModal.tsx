import { useSignal } from "@preact/signals";
import { ApiError, post, SESSION_LOSS_CODES } from "../api/client";
import type { StepUpChallenge, StepUpMethod, StepUpPurpose } from "../api/types";
import { describeError } from "../lib/errors";
import { useAction } from "../lib/useAction";
import { me } from "../state/auth";
import { appUrl, navigate } from "../state/router";
import { stepUpPrompt } from "../state/stepup";
import { Alert } from "./Alert";
import { Modal } from "./Modal";

const PURPOSES: Record<StepUpPurpose, string> = {
  REVOKE_SESSION: "sign out a session",
  REVOKE_USER_SESSION: "sign out another member's session",
  REVOKE_ALL_OTHER_SESSIONS: "sign out all your other sessions",
  FORCE_LOGOUT: "sign a member out everywhere",
  MFA_ENROLL: "set up two-factor authentication",
  MFA_CHANGE: "change two-factor settings",
  IP_RULE_CHANGE: "change IP rules",
  IMPERSONATION: "act as another member",
  ROLE_CHANGE: "change a member's role",
  USER_ACCESS_CHANGE: "disable, enable or remove a member",
  MFA_RESET: "reset a member's two-factor authentication",
  PASSWORD_RESET: "issue a password reset link",
  TENANT_POLICY_CHANGE: "change your organization's policy",
  PASSWORD_CHANGE: "change your password",
};

const METHOD_LABELS: Record<StepUpMethod, string> = {
  totp: "Authenticator app",
  recovery_code: "Recovery code",
  password: "Password",
};

// Distinct from the method names so each input has a label of its own.
const FIELD_LABELS: Record<StepUpMethod, string> = {
  totp: "Authentication code",
  recovery_code: "One of your recovery codes",
  password: "Account password",
};

/** Renders the fetch layer's pending step-up; settles it with the user's answer. */
export function StepUpModal() {
  const prompt = stepUpPrompt.value;
  if (!prompt) return null;
  // Keyed by purpose so a second challenge starts with a clean form.
  return <StepUpForm key={prompt.challenge.purpose} challenge={prompt.challenge} settle={prompt.settle} />;
}

function StepUpForm({ challenge, settle }: { challenge: StepUpChallenge; settle: (ok: boolean) => void }) {
  const usable = challenge.methods.filter((m): m is StepUpMethod => m in METHOD_LABELS);
  const method = useSignal<StepUpMethod>(usable[0] ?? "totp");
  const value = useSignal("");
  const action = Object.hasOwn(PURPOSES, challenge.purpose) ? PURPOSES[challenge.purpose as StepUpPurpose] : (challenge.label ?? "continue");
  const realUser = me.value?.impersonation?.realUser;
  const { busy, error, run } = useAction(
    async (secret: { code: string } | { recoveryCode: string } | { password: string }) => {
      await post("/api/security/stepup/verify", { purpose: challenge.purpose, ...secret }, { noStepUp: true });
      settle(true);
    },
    {
      onError: (err) => {
        if (err instanceof ApiError && (SESSION_LOSS_CODES as readonly string[]).includes(err.code)) {
          settle(false);
          return;
        }
        error.value = describeError(err);
        value.value = "";
      },
    },
  );

  function verify(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    const v = value.value.trim();
    if (!v) {
      error.value = method.value === "password" ? "Enter your password." : "Enter a code.";
      return;
    }
    const secret =
      method.value === "totp" ? { code: v.replace(/\s+/g, "") } : method.value === "recovery_code" ? { recoveryCode: v } : { password: value.value };
    void run(secret);
  }

  if (challenge.enrollmentRequired) {
    return (
      <Modal title="Set up two-factor first" onClose={() => settle(false)}>
        <p>
          To {action}, you need to confirm it's you with an authenticator app, and your account does not have two-factor authentication yet.
          Set it up, then try again.
        </p>
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => settle(false)}>
            Cancel
          </button>
          <a
            class="button button-primary"
            href={appUrl("/security/two-factor")}
            onClick={(e) => {
              e.preventDefault();
              settle(false);
              navigate("/security/two-factor");
            }}
          >
            Set up two-factor
          </a>
        </div>
      </Modal>
    );
  }

  const hint =
    method.value === "totp"
      ? "Enter the 6-digit code from your authenticator app."
      : method.value === "recovery_code"
        ? "Enter one of your unused recovery codes. Each code works once."
        : "Enter your account password.";

  return (
    <Modal
      title="Confirm it's you"
      onClose={() => !busy.value && settle(false)}
      description={
        <p>
          To {action}, verify your identity. {hint}
          {/* The API checks the real admin's factor, not the impersonated user's. */}
          {realUser && ` You are verifying as ${realUser.displayName}, not as ${me.value?.user.displayName ?? "the member"}.`}
        </p>
      }
    >
      <form onSubmit={verify} class="stack">
        {usable.length > 1 && (
          <div class="segmented" role="radiogroup" aria-label="Verification method">
            {usable.map((m) => (
              <label key={m} class={method.value === m ? "segment segment-on" : "segment"}>
                <input
                  type="radio"
                  name="stepup-method"
                  value={m}
                  checked={method.value === m}
                  onChange={() => {
                    method.value = m;
                    value.value = "";
                    error.value = null;
                  }}
                />
                {METHOD_LABELS[m]}
              </label>
            ))}
          </div>
        )}
        <div class="field">
          <label for="stepup-secret">{FIELD_LABELS[method.value]}</label>
          <input
            id="stepup-secret"
            data-autofocus
            type={method.value === "password" ? "password" : "text"}
            inputMode={method.value === "totp" ? "numeric" : undefined}
            autoComplete={method.value === "totp" ? "one-time-code" : method.value === "password" ? "current-password" : "off"}
            maxLength={method.value === "totp" ? 8 : 200}
            value={value.value}
            onInput={(e) => (value.value = e.currentTarget.value)}
            aria-invalid={error.value ? true : undefined}
          />
        </div>
        <Alert>{error.value}</Alert>
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => !busy.value && settle(false)} aria-disabled={busy.value}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" aria-disabled={busy.value}>
            {busy.value ? "Verifying…" : "Verify"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
