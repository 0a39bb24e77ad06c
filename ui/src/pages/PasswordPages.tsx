import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import { post } from "../api/client";
import { describeError } from "../lib/errors";
import { Alert } from "../components/Alert";
import { SignedOutCard } from "../components/SignedOutCard";
import { emailProblem, FieldError, newPasswordProblem, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { signInNotice } from "../state/auth";
import { branding } from "../state/branding";
import { navigate, search } from "../state/router";

/** /reset-password?token=…: the link from an admin or from the email hook. */
export function ResetPasswordPage() {
  const password = useSignal("");
  const token = new URLSearchParams(search.value).get("token") ?? "";
  const form = useFormFields({ password: "reset-password" });
  const { busy, error, run } = useAction(
    async () => {
      await post("/api/auth/password-reset", { token, password: password.value }, { ownUnauthorized: true });
      signInNotice.value = "Your password was changed. Sign in with the new one.";
      navigate("/sign-in", { replace: true });
    },
    { onError: (err) => void (form.fromApi(err, { password: "Choose another password." }, "password") || (error.value = describeError(err))) },
  );
  return (
    <SignedOutCard back title={`Choose a new ${branding.value.name} password`}>
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check({ password: newPasswordProblem(password.value) })) void run();
        }}
      >
        <div class="field">
          <label for="reset-password">New password</label>
          <input
            {...form.props("password", "reset-password-hint")}
            type="password"
            autoComplete="new-password"
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
          <p id="reset-password-hint" class="hint">
            At least {MIN_PASSWORD_LENGTH} characters; common and breached passwords are refused. Every session of your account is signed out.
          </p>
          <FieldError form={form} field="password" />
        </div>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
          {busy.value ? "Saving…" : "Set password"}
        </button>
      </form>
    </SignedOutCard>
  );
}

/** /forgot-password: sends a link only through the email hook; without one, ask an admin. */
export function ForgotPasswordPage() {
  const email = useSignal("");
  const answer = useSignal<{ emailConfigured: boolean } | null>(null);
  const form = useFormFields({ email: "forgot-email" });
  const { busy, error, run } = useAction(
    async () => {
      answer.value = await post<{ emailConfigured: boolean }>("/api/auth/forgot-password", { email: email.value.trim() }, { ownUnauthorized: true });
    },
    { onError: (err) => void (form.fromApi(err, { email: "Enter an email address like name@example.com." }) || (error.value = describeError(err))) },
  );
  if (answer.value) {
    return (
      <SignedOutCard back title="Forgot your password?">
        {answer.value.emailConfigured ? (
          <Alert tone="info">If an account exists for {email.value.trim()}, a reset link is on its way. It works once, for one hour.</Alert>
        ) : (
          <Alert tone="warning">
            We can't email you a reset link. Ask an owner or admin of your organization to create one for you from the Team page; they give it to you
            themselves. If you are its only owner, ask the people who run {branding.value.name} for one.
          </Alert>
        )}
      </SignedOutCard>
    );
  }
  return (
    <SignedOutCard back title="Forgot your password?">
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check({ email: emailProblem(email.value) })) void run();
        }}
      >
        <div class="field">
          <label for="forgot-email">Email address</label>
          <input {...form.props("email")} type="email" autoComplete="username" value={email.value} onInput={(e) => (email.value = e.currentTarget.value)} />
          <FieldError form={form} field="email" />
        </div>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
          {busy.value ? "Sending…" : "Send reset link"}
        </button>
      </form>
    </SignedOutCard>
  );
}
