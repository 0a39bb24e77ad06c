import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, post } from "../api/client";
import { Alert } from "../components/Alert";
import { describeError } from "../lib/errors";
import { sanitizeReturnTo } from "../../../src/gateway/return-to";
import { useAction } from "../lib/useAction";
import { loadMe, me, signInNotice } from "../state/auth";
import { appUrl, navigate, onLinkClick, search } from "../state/router";

/** The panel page to open after sign-in: `next` comes from the address bar, so only a same-origin path. */
function nextPath(): string {
  const next = sanitizeReturnTo(new URLSearchParams(search.value).get("next"));
  return next === "/" || next.startsWith("/sign-in") ? "/security/sessions" : next;
}

/** Gateway mode: the product page that sent the browser here (`returnTo`), to go back to after sign-in. */
function productReturnTo(): string | null {
  const value = new URLSearchParams(search.value).get("returnTo");
  return value === null ? null : sanitizeReturnTo(value);
}

type SignInBody = { email: string; password: string; totpCode?: string; recoveryCode?: string; returnTo?: string };

export function SignInPage() {
  const email = useSignal("");
  const password = useSignal("");
  const code = useSignal("");
  const useRecovery = useSignal(false);
  const step = useSignal<"password" | "totp">("password");
  const { busy, error, run } = useAction(
    async (body: SignInBody) => {
      let answer: { redirectTo: string; mfaEnrollmentRequired?: boolean };
      try {
        answer = await post<{ redirectTo: string; mfaEnrollmentRequired?: boolean }>("/api/auth/login", body, { ownUnauthorized: true });
      } catch (err) {
        // Not a failure: the password was right and the account has a second factor.
        if (err instanceof ApiError && err.code === "TOTP_REQUIRED") {
          step.value = "totp";
          return;
        }
        throw err;
      }
      signInNotice.value = null;
      // Back to the product page (the server sanitised it too); a full load, it is not the panel's.
      // (Unless the tenant requires two-factor and there is none yet: the panel's enrolment first.)
      if (body.returnTo !== undefined && !answer.mfaEnrollmentRequired) location.assign(answer.redirectTo);
      else await loadMe();
    },
    {
      onError: (err) => {
        error.value = err instanceof ApiError && err.code === "INVALID_CREDENTIALS" ? "Incorrect email or password." : describeError(err);
        code.value = "";
      },
    },
  );

  useEffect(() => {
    if (!me.value) return;
    const back = productReturnTo();
    if (me.value.mfaEnrollmentRequired) navigate("/security/two-factor", { replace: true });
    else if (back !== null) location.replace(back);
    else navigate(nextPath(), { replace: true });
  }, [me.value]);

  useEffect(() => {
    document.getElementById(step.value === "totp" ? "signin-code" : "signin-email")?.focus();
  }, [step.value, useRecovery.value]);

  function submit(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    error.value = null;
    if (step.value === "totp" && !code.value.trim()) {
      error.value = useRecovery.value ? "Enter a recovery code." : "Enter the 6-digit code from your authenticator app.";
      return;
    }
    const second =
      step.value === "totp" ? (useRecovery.value ? { recoveryCode: code.value.trim() } : { totpCode: code.value.replace(/\s+/g, "") }) : {};
    const back = productReturnTo();
    void run({ email: email.value.trim(), password: password.value, ...second, ...(back === null ? {} : { returnTo: back }) });
  }

  return (
    <div class="signin">
      <main id="main" class="signin-card">
        <div class="signin-brand">
          <img src={appUrl("/favicon.svg")} alt="" width={36} height={36} />
        </div>
        <h1 tabIndex={-1}>{step.value === "totp" ? "Two-factor authentication" : "Sign in to Gatehouse"}</h1>
        {signInNotice.value && <Alert tone="warning">{signInNotice.value}</Alert>}
        <form onSubmit={submit} class="stack" noValidate>
          {step.value === "password" ? (
            <>
              <div class="field">
                <label for="signin-email">Email address</label>
                <input
                  id="signin-email"
                  type="email"
                  autoComplete="username"
                  required
                  value={email.value}
                  onInput={(e) => (email.value = e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="signin-password">Password</label>
                <input
                  id="signin-password"
                  type="password"
                  autoComplete="current-password"
                  required
                  value={password.value}
                  onInput={(e) => (password.value = e.currentTarget.value)}
                />
              </div>
            </>
          ) : (
            <div class="field">
              <label for="signin-code">{useRecovery.value ? "Recovery code" : "Authentication code"}</label>
              <input
                id="signin-code"
                type="text"
                inputMode={useRecovery.value ? undefined : "numeric"}
                autoComplete={useRecovery.value ? "off" : "one-time-code"}
                value={code.value}
                onInput={(e) => (code.value = e.currentTarget.value)}
                aria-describedby="signin-code-hint"
              />
              <p id="signin-code-hint" class="hint">
                {useRecovery.value ? "Each recovery code works once." : `Open your authenticator app and enter the code for ${email.value}.`}
              </p>
            </div>
          )}
          <Alert>{error.value}</Alert>
          <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
            {busy.value ? "Signing in…" : step.value === "totp" ? "Verify" : "Sign in"}
          </button>
          {step.value === "password" && (
            <div class="signin-links">
              <a href={appUrl("/forgot-password")} onClick={onLinkClick}>
                Forgot password?
              </a>
            </div>
          )}
          {step.value === "totp" && (
            <div class="signin-links">
              <button
                type="button"
                class="link-button"
                onClick={() => {
                  useRecovery.value = !useRecovery.value;
                  code.value = "";
                  error.value = null;
                }}
              >
                {useRecovery.value ? "Use your authenticator app" : "Use a recovery code"}
              </button>
              <button
                type="button"
                class="link-button"
                onClick={() => {
                  step.value = "password";
                  code.value = "";
                  error.value = null;
                }}
              >
                Back
              </button>
            </div>
          )}
        </form>
      </main>
    </div>
  );
}
