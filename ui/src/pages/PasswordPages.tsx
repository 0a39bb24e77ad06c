import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { post } from "../api/client";
import { Alert } from "../components/Alert";
import { useAction } from "../lib/useAction";
import { signInNotice } from "../state/auth";
import { appUrl, navigate, onLinkClick, search } from "../state/router";

/** The sign-in page's frame, for the pages a signed-out visitor reaches (and the sign-out page, without the way back to sign-in). */
export function Card({ title, children, backToSignIn = true }: { title: string; children: ComponentChildren; backToSignIn?: boolean }) {
  return (
    <div class="signin">
      <main id="main" class="signin-card">
        <div class="signin-brand">
          <img src={appUrl("/favicon.svg")} alt="" width={36} height={36} />
        </div>
        <h1 tabIndex={-1}>{title}</h1>
        {children}
        {backToSignIn && (
          <div class="signin-links">
            <a href={appUrl("/sign-in")} onClick={onLinkClick}>
              Back to sign-in
            </a>
          </div>
        )}
      </main>
    </div>
  );
}

/** /reset-password?token=…: the link from an admin or from the email hook. */
export function ResetPasswordPage() {
  const password = useSignal("");
  const token = new URLSearchParams(search.value).get("token") ?? "";
  const { busy, error, run } = useAction(async () => {
    await post("/api/auth/password-reset", { token, password: password.value }, { ownUnauthorized: true });
    signInNotice.value = "Your password was changed. Sign in with the new one.";
    navigate("/sign-in", { replace: true });
  });
  return (
    <Card title="Choose a new password">
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div class="field">
          <label for="reset-password">New password</label>
          <input
            id="reset-password"
            type="password"
            autoComplete="new-password"
            aria-describedby="reset-password-hint"
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
          <p id="reset-password-hint" class="hint">
            At least {MIN_PASSWORD_LENGTH} characters. Every session of your account is signed out.
          </p>
        </div>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
          {busy.value ? "Saving…" : "Set password"}
        </button>
      </form>
    </Card>
  );
}

/** /forgot-password: sends a link only through the email hook; without one, ask an admin. */
export function ForgotPasswordPage() {
  const email = useSignal("");
  const answer = useSignal<{ emailConfigured: boolean } | null>(null);
  const { busy, error, run } = useAction(async () => {
    answer.value = await post<{ emailConfigured: boolean }>("/api/auth/forgot-password", { email: email.value.trim() }, { ownUnauthorized: true });
  });
  if (answer.value) {
    return (
      <Card title="Forgot your password?">
        {answer.value.emailConfigured ? (
          <Alert tone="info">If an account exists for {email.value.trim()}, a reset link is on its way. It works once, for one hour.</Alert>
        ) : (
          <Alert tone="warning">This Gatehouse does not send email. Ask an administrator of your organization to give you a password reset link.</Alert>
        )}
      </Card>
    );
  }
  return (
    <Card title="Forgot your password?">
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div class="field">
          <label for="forgot-email">Email address</label>
          <input id="forgot-email" type="email" autoComplete="username" value={email.value} onInput={(e) => (email.value = e.currentTarget.value)} />
        </div>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
          {busy.value ? "Sending…" : "Send reset link"}
        </button>
      </form>
    </Card>
  );
}
