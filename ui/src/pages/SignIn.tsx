import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, post } from "../api/client";
import type { StepUpMethod } from "../api/types";
import { Alert } from "../components/Alert";
import { SignedOutCard } from "../components/SignedOutCard";
import { describeError } from "../lib/errors";
import { emailProblem, FieldError, useFormFields } from "../lib/form";
import { sanitizeReturnTo } from "../../../src/gateway/return-to";
import { autofillSupported, isAborted, passkeyFromAutofill, passkeysSupported, type PublicKeyCredentialRequestOptionsJSON, signWithPasskey, stopAutofill } from "../lib/passkey";
import { notDoneNotice } from "../lib/not-done";
import { discoverSso, domainOf, type SsoRoute, ssoErrorNotice, startSso } from "../lib/sso";
import { useAction } from "../lib/useAction";
import { loadMe, me, signInNotice } from "../state/auth";
import { branding } from "../state/branding";
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

type Answer = { redirectTo: string; mfaEnrollmentRequired?: boolean };
type PasskeyAnswer = { challengeId: string; response: Awaited<ReturnType<typeof signWithPasskey>> };
type Attempt = { password: { email: string; password: string; totpCode?: string; recoveryCode?: string } } | { passkey: PasskeyAnswer | "prompt" };

const passkeyOptions = () => post<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>("/api/auth/passkey/options", {}, { ownUnauthorized: true });

/** The password's second step: the factors the account has (the 401's `methods`). */
const SECOND_STEP_CODES = ["TOTP_REQUIRED", "SECOND_FACTOR_REQUIRED"];

export function SignInPage() {
  const email = useSignal("");
  const password = useSignal("");
  const code = useSignal("");
  const useRecovery = useSignal(false);
  const step = useSignal<"password" | "totp">("password");
  const methods = useSignal<StepUpMethod[]>([]);
  // Bumped to offer the passkeys in the email field's autofill again (a passkey button took the offer over).
  const autofillRound = useSignal(0);
  // The email's domain signs in through its identity provider; `usePassword`: an owner's break-glass way in.
  const sso = useSignal<SsoRoute | null>(null);
  const usePassword = useSignal(false);
  const form = useFormFields({ email: "signin-email", password: "signin-password", code: "signin-code" });
  const { busy, error, run } = useAction(
    async (attempt: Attempt) => {
      const back = productReturnTo();
      const returnTo = back === null ? {} : { returnTo: back };
      let answer: Answer;
      if ("password" in attempt) {
        try {
          answer = await post<Answer>("/api/auth/login", { ...attempt.password, ...returnTo }, { ownUnauthorized: true });
        } catch (err) {
          // The organization requires single sign-on for this member: off to its provider.
          if (err instanceof ApiError && err.code === "SSO_REQUIRED" && typeof err.details.startUrl === "string") return startSso(err.details.startUrl, back ?? appUrl(nextPath()));
          // Not a failure: the password was right and the account has a second factor.
          if (err instanceof ApiError && SECOND_STEP_CODES.includes(err.code)) {
            methods.value = Array.isArray(err.details.methods) ? (err.details.methods as StepUpMethod[]) : ["totp", "recovery_code"];
            useRecovery.value = !methods.value.includes("totp");
            step.value = "totp";
            return;
          }
          throw err;
        }
      } else {
        const proof = attempt.passkey === "prompt" ? await passkeyOptions().then(async ({ challengeId, options }) => ({ challengeId, response: await signWithPasskey(options) })) : attempt.passkey;
        answer = await post<Answer>("/api/auth/passkey", { ...proof, ...returnTo }, { ownUnauthorized: true });
      }
      signInNotice.value = null;
      // Back to the product page (the server sanitised it too); a full load, it is not the panel's.
      // (Unless the tenant requires two-factor and there is none yet: the panel's enrolment first.)
      if (back !== null && !answer.mfaEnrollmentRequired) location.assign(answer.redirectTo);
      else await loadMe();
    },
    {
      onError: (err) => {
        if (isAborted(err)) return;
        code.value = "";
        if (form.fromApi(err, { email: "Enter an email address like name@example.com.", password: "Enter your password." })) return;
        error.value =
          err instanceof ApiError && err.code === "INVALID_CREDENTIALS"
            ? "Incorrect email or password."
            : err instanceof ApiError && err.code === "PASSKEY_INVALID"
              ? `${branding.value.name} does not know this passkey (it may have been removed). Sign in with your password.`
              : describeError(err);
      },
    },
  );

  async function signInWithPasskey() {
    if (busy.value) return;
    if (!(await run({ passkey: "prompt" }))) autofillRound.value++;
  }

  // Conditional mediation: the browser offers saved passkeys in the email field's autofill.
  useEffect(() => {
    if (step.value !== "password") return;
    let live = true;
    void (async () => {
      if (!(await autofillSupported()) || !live) return;
      let picked: PasskeyAnswer;
      try {
        const { challengeId, options } = await passkeyOptions();
        if (!live) return;
        picked = { challengeId, response: await passkeyFromAutofill(options) };
      } catch (err) {
        // Aborted by a passkey button or by leaving; any other failure leaves the button to try.
        if (live && !isAborted(err)) error.value = describeError(err);
        return;
      }
      if (!(await run({ passkey: picked })) && live) autofillRound.value++;
    })();
    return () => {
      live = false;
      stopAutofill();
    };
  }, [step.value, autofillRound.value]);

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

  // As the email is typed: does its domain sign in through an identity provider?
  useEffect(() => {
    const domain = domainOf(email.value);
    if (domain === null || domain === sso.value?.domain) {
      if (domain === null) sso.value = null;
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      discoverSso(email.value)
        .then((found) => {
          if (live) sso.value = found;
        })
        // Unknown: the password form stays, and the server still sends a member who must use SSO there.
        .catch(() => undefined);
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [email.value]);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    error.value = null;
    const passwordShown = !(sso.value && !usePassword.value);
    const problems =
      step.value === "totp"
        ? { code: !code.value.trim() && (useRecovery.value ? "Enter a recovery code." : "Enter the 6-digit code from your authenticator app.") }
        : { email: emailProblem(email.value), password: passwordShown && !password.value && "Enter your password." };
    if (!form.check(problems)) return;
    if (step.value === "password" && !usePassword.value) {
      // Typed and sent before the look-up above answered: ask now.
      const route = sso.value?.domain === domainOf(email.value) ? sso.value : await discoverSso(email.value).catch(() => null);
      if (route) return startSso(route.startUrl, productReturnTo() ?? appUrl(nextPath()));
    }
    const second =
      step.value === "totp" ? (useRecovery.value ? { recoveryCode: code.value.trim() } : { totpCode: code.value.replace(/\s+/g, "") }) : {};
    void run({ password: { email: email.value.trim(), password: password.value, ...second } });
  }

  const passkeyOffered = passkeysSupported() && (step.value === "password" || methods.value.includes("passkey"));
  const codeMethods = methods.value.filter((m) => m === "totp" || m === "recovery_code");

  return (
    <SignedOutCard title={step.value === "totp" ? "Two-factor authentication" : `Sign in to ${branding.value.name}`}>
        {signInNotice.value && <Alert tone="warning">{signInNotice.value}</Alert>}
        <Alert tone="warning">{notDoneNotice(search.value, "Once you've signed in")}</Alert>
        {ssoErrorNotice(search.value) && <Alert tone="warning">{ssoErrorNotice(search.value)}</Alert>}
        <form onSubmit={submit} class="stack" noValidate>
          {step.value === "password" ? (
            <>
              <div class="field">
                <label for="signin-email">Email address</label>
                <input
                  {...form.props("email")}
                  type="email"
                  // "webauthn": the browser may offer saved passkeys here (conditional mediation).
                  autoComplete="username webauthn"
                  required
                  value={email.value}
                  onInput={(e) => (email.value = e.currentTarget.value)}
                />
                <FieldError form={form} field="email" />
              </div>
              {sso.value && !usePassword.value ? (
                <p class="hint" role="status">
                  {sso.value.domain} signs in through your organization's identity provider.
                </p>
              ) : (
                <div class="field">
                  <label for="signin-password">Password</label>
                  <input
                    {...form.props("password")}
                    type="password"
                    autoComplete="current-password"
                    required
                    value={password.value}
                    onInput={(e) => (password.value = e.currentTarget.value)}
                  />
                  <FieldError form={form} field="password" />
                </div>
              )}
            </>
          ) : (
            <>
              {!codeMethods.includes("totp") && <Alert tone="info">Your account's second factor is a passkey: sign in with it, or enter a recovery code.</Alert>}
              <div class="field">
                <label for="signin-code">{useRecovery.value ? "Recovery code" : "Authentication code"}</label>
                <input
                  {...form.props("code", "signin-code-hint")}
                  type="text"
                  inputMode={useRecovery.value ? undefined : "numeric"}
                  autoComplete={useRecovery.value ? "off" : "one-time-code"}
                  value={code.value}
                  onInput={(e) => (code.value = e.currentTarget.value)}
                />
                <p id="signin-code-hint" class="hint">
                  {useRecovery.value ? "Each recovery code works once." : `Open your authenticator app and enter the code for ${email.value}.`}
                </p>
                <FieldError form={form} field="code" />
              </div>
            </>
          )}
          <Alert>{error.value}</Alert>
          <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
            {busy.value ? "Signing in…" : step.value === "totp" ? "Verify" : sso.value && !usePassword.value ? "Continue with single sign-on" : "Sign in"}
          </button>
          {passkeyOffered && (
            <button type="button" class="button button-block" onClick={signInWithPasskey} aria-disabled={busy.value}>
              Sign in with a passkey
            </button>
          )}
          {step.value === "password" && (
            <div class="signin-links">
              {sso.value && (
                // An owner's break-glass sign-in (password and second factor) when the provider is down.
                <button type="button" class="link-button" onClick={() => (usePassword.value = !usePassword.value)}>
                  {usePassword.value ? "Use single sign-on" : "Sign in with a password instead"}
                </button>
              )}
              <a href={appUrl("/forgot-password")} onClick={onLinkClick}>
                Forgot password?
              </a>
            </div>
          )}
          {step.value === "totp" && (
            <div class="signin-links">
              {codeMethods.length > 1 && (
                <button
                  type="button"
                  class="link-button"
                  onClick={() => {
                    useRecovery.value = !useRecovery.value;
                    code.value = "";
                    error.value = null;
                    form.clear();
                  }}
                >
                  {useRecovery.value ? "Use your authenticator app" : "Use a recovery code"}
                </button>
              )}
              <button
                type="button"
                class="link-button"
                onClick={() => {
                  step.value = "password";
                  code.value = "";
                  error.value = null;
                  form.clear();
                }}
              >
                Back
              </button>
            </div>
          )}
        </form>
    </SignedOutCard>
  );
}
