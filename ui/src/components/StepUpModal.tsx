import { useSignal } from "@preact/signals";
import { ApiError, post, SESSION_LOSS_CODES } from "../api/client";
import type { StepUpChallenge, StepUpMethod, StepUpPurpose } from "../api/types";
import { describeError } from "../lib/errors";
import { isAborted, passkeysSupported, type PublicKeyCredentialRequestOptionsJSON, signWithPasskey } from "../lib/passkey";
import { useAction } from "../lib/useAction";
import { me } from "../state/auth";
import { branding } from "../state/branding";
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
  SSO_CHANGE: "change your organization's single sign-on",
  AUDIT_STREAM_CHANGE: "change your organization's audit stream",
  PASSWORD_CHANGE: "change your password",
};

const METHOD_LABELS: Record<StepUpMethod, string> = {
  passkey: "Passkey",
  totp: "Authenticator app",
  recovery_code: "Recovery code",
  password: "Password",
};

type TypedMethod = Exclude<StepUpMethod, "passkey">;
type TypedSecret = { code: string } | { recoveryCode: string } | { password: string };

// Distinct from the method names so each input has a label of its own.
const FIELD_LABELS: Record<TypedMethod, string> = {
  totp: "Authentication code",
  recovery_code: "One of your recovery codes",
  password: "Account password",
};

const HINTS: Record<StepUpMethod, string> = {
  passkey: "Use your passkey: on this device, your phone or a security key.",
  totp: "Enter the 6-digit code from your authenticator app.",
  recovery_code: "Enter one of your unused recovery codes. Each code works once.",
  password: "Enter your account password.",
};

/** The passkey's answer to a challenge issued for this session and purpose. */
async function passkeyProof(purpose: string) {
  const { options } = await post<{ options: PublicKeyCredentialRequestOptionsJSON }>("/api/security/stepup/options", { purpose }, { noStepUp: true });
  return { passkey: await signWithPasskey(options) };
}

/** Where a user adds a passkey; `need=passkey` tells the page why they were sent there. */
export const ADD_PASSKEY_PATH = "/security/two-factor?need=passkey";

/** Renders the fetch layer's pending step-up; settles it with the user's answer. */
export function StepUpModal() {
  const prompt = stepUpPrompt.value;
  if (!prompt) return null;
  // Keyed by purpose so a second challenge starts with a clean form.
  return <StepUpForm key={prompt.challenge.purpose} challenge={prompt.challenge} settle={prompt.settle} />;
}

function StepUpForm({ challenge, settle }: { challenge: StepUpChallenge; settle: (ok: boolean) => void }) {
  // A browser without WebAuthn is offered the other ways, unless a passkey is the only one (then it says why it fails).
  const usable = challenge.methods.filter((m) => m in METHOD_LABELS && (m !== "passkey" || passkeysSupported() || challenge.methods.length === 1));
  const method = useSignal<StepUpMethod>(usable[0] ?? "totp");
  const value = useSignal("");
  const action = Object.hasOwn(PURPOSES, challenge.purpose) ? PURPOSES[challenge.purpose as StepUpPurpose] : (challenge.label ?? "continue");
  const realUser = me.value?.impersonation?.realUser;
  const { busy, error, run } = useAction(
    async (secret: TypedSecret | "passkey") => {
      const proof = secret === "passkey" ? await passkeyProof(challenge.purpose) : secret;
      await post("/api/security/stepup/verify", { purpose: challenge.purpose, ...proof }, { noStepUp: true });
      settle(true);
    },
    {
      onError: (err) => {
        if (err instanceof ApiError && (SESSION_LOSS_CODES as readonly string[]).includes(err.code)) {
          settle(false);
          return;
        }
        if (isAborted(err)) return;
        error.value = describeError(err);
        value.value = "";
      },
    },
  );
  const required = challenge.phishingResistantRequired === true;

  function verify(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    const chosen = method.value;
    if (chosen === "passkey") {
      void run("passkey");
      return;
    }
    const v = value.value.trim();
    if (!v) {
      error.value = chosen === "password" ? "Enter your password." : "Enter a code.";
      return;
    }
    const secret = chosen === "totp" ? { code: v.replace(/\s+/g, "") } : chosen === "recovery_code" ? { recoveryCode: v } : { password: value.value };
    void run(secret);
  }

  if (challenge.enrollmentRequired) {
    const target = required ? ADD_PASSKEY_PATH : "/security/two-factor";
    return (
      <Modal title={required ? "Add a passkey first" : "Set up two-factor first"} onClose={() => settle(false)}>
        {required ? (
          <p>
            Your organization requires a passkey to {action}: a code can be relayed by a phishing site, a passkey cannot. Add a passkey on the
            two-factor page, then try again.
          </p>
        ) : (
          <p>
            To {action}, you need to confirm it's you with an authenticator app, and your account does not have two-factor authentication yet.
            Set it up, then try again.
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => settle(false)}>
            Cancel
          </button>
          <a
            class="button button-primary"
            href={appUrl(target)}
            onClick={(e) => {
              e.preventDefault();
              settle(false);
              navigate(target);
            }}
          >
            {required ? "Add a passkey" : "Set up two-factor"}
          </a>
        </div>
      </Modal>
    );
  }

  const m = method.value;

  return (
    <Modal
      title="Confirm it's you"
      onClose={() => !busy.value && settle(false)}
      description={
        <p>
          To {action}
          {me.value?.tenant ? ` in ${me.value.tenant.name}` : ""} on {branding.value.name}, verify your identity. {required && "Your organization requires a passkey for this. "}
          {HINTS[m]}
          {/* The API checks the real admin's factor, not the impersonated user's. */}
          {realUser && ` You are verifying as ${realUser.displayName}, not as ${me.value?.user.displayName ?? "the member"}.`}
        </p>
      }
    >
      <form onSubmit={verify} class="stack">
        {usable.length > 1 && (
          <div class="segmented" role="radiogroup" aria-label="Verification method">
            {usable.map((option) => (
              <label key={option} class={m === option ? "segment segment-on" : "segment"}>
                <input
                  type="radio"
                  name="stepup-method"
                  value={option}
                  checked={m === option}
                  onChange={() => {
                    method.value = option;
                    value.value = "";
                    error.value = null;
                  }}
                />
                {METHOD_LABELS[option]}
              </label>
            ))}
          </div>
        )}
        {m !== "passkey" && (
          <div class="field">
            <label for="stepup-secret">{FIELD_LABELS[m]}</label>
            <input
              id="stepup-secret"
              data-autofocus
              type={m === "password" ? "password" : "text"}
              inputMode={m === "totp" ? "numeric" : undefined}
              autoComplete={m === "totp" ? "one-time-code" : m === "password" ? "current-password" : "off"}
              maxLength={m === "totp" ? 8 : 200}
              value={value.value}
              onInput={(e) => (value.value = e.currentTarget.value)}
              aria-invalid={error.value ? true : undefined}
            />
          </div>
        )}
        <Alert>{error.value}</Alert>
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => !busy.value && settle(false)} aria-disabled={busy.value}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" aria-disabled={busy.value} data-autofocus={m === "passkey" ? true : undefined}>
            {busy.value ? "Verifying…" : m === "passkey" ? "Use passkey" : "Verify"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
