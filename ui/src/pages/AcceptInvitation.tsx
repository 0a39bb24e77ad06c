import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, post } from "../api/client";
import { Alert } from "../components/Alert";
import { describeError } from "../lib/errors";
import { useAction } from "../lib/useAction";
import { loadMe, me } from "../state/auth";
import { appUrl, navigate, search } from "../state/router";

/** Why a link cannot be used, in words, per the API's codes: these end the page's form. */
const DEAD_LINKS: Record<string, string> = {
  INVITATION_EXPIRED: "This invitation has expired. Ask the person who invited you to send a new one.",
  INVITATION_USED: "This invitation was already used. If it was you, sign in with the password you chose.",
  INVITATION_REVOKED: "This invitation was withdrawn. Ask the person who invited you if you still need access.",
  INVITATION_NOT_FOUND: "This invitation link is not valid. Check that you copied all of it, or ask for a new one.",
  TENANT_DISABLED: "This organization's access to Gatehouse has been disabled.",
};

// NIST SP 800-63B-4, as src/lib/password-policy.ts applies it.

/** `/accept-invitation?token=…`: set a display name and a password, and be signed in. */
export function AcceptInvitationPage() {
  const token = new URLSearchParams(search.value).get("token") ?? "";
  const displayName = useSignal("");
  const password = useSignal("");
  const dead = useSignal<string | null>(token ? null : DEAD_LINKS.INVITATION_NOT_FOUND ?? null);
  const passwordError = useSignal<string | null>(null);
  const { busy, error, run } = useAction(
    async () => {
      const joined = await post<{ signInThrough?: { sso: string } }>("/api/auth/invitations/accept", { token, displayName: displayName.value.trim(), password: password.value }, { ownUnauthorized: true });
      // The organization requires single sign-on: the account exists, and its provider signs them in.
      if (joined.signInThrough) return location.assign(joined.signInThrough.sso);
      await loadMe();
      navigate("/security/sessions", { replace: true });
    },
    {
      onError: (err) => {
        if (err instanceof ApiError && DEAD_LINKS[err.code]) dead.value = DEAD_LINKS[err.code] ?? null;
        else if (err instanceof ApiError && err.code === "WEAK_PASSWORD") passwordError.value = err.message;
        else error.value = describeError(err);
      },
    },
  );

  useEffect(() => {
    document.getElementById("accept-name")?.focus();
  }, []);

  function submit(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    passwordError.value = null;
    error.value = null;
    if (!displayName.value.trim()) {
      error.value = "Enter your name as your colleagues should see it.";
      return;
    }
    if ([...password.value.normalize("NFKC")].length < MIN_PASSWORD_LENGTH) {
      passwordError.value = `Use at least ${MIN_PASSWORD_LENGTH} characters (a few words make a good one).`;
      return;
    }
    void run();
  }

  return (
    <div class="signin">
      <main id="main" class="signin-card">
        <div class="signin-brand">
          <img src={appUrl("/favicon.svg")} alt="" width={36} height={36} />
        </div>
        <h1 tabIndex={-1}>Join your team on Gatehouse</h1>
        {me.value && !dead.value && (
          <Alert tone="warning">You are signed in as {me.value.user.email}. Accepting signs you in as the new account in this browser.</Alert>
        )}
        {dead.value ? (
          <div class="stack">
            <Alert tone="warning">{dead.value}</Alert>
            <a class="button button-block" href={appUrl("/sign-in")}>
              Go to sign-in
            </a>
          </div>
        ) : (
          <form onSubmit={submit} class="stack" noValidate>
            <div class="field">
              <label for="accept-name">Your name</label>
              <input id="accept-name" type="text" autoComplete="name" required maxLength={100} value={displayName.value} onInput={(e) => (displayName.value = e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="accept-password">Choose a password</label>
              <input
                id="accept-password"
                type="password"
                autoComplete="new-password"
                required
                value={password.value}
                aria-describedby="accept-password-hint"
                aria-invalid={passwordError.value ? true : undefined}
                onInput={(e) => (password.value = e.currentTarget.value)}
              />
              <p id="accept-password-hint" class="hint">
                At least {MIN_PASSWORD_LENGTH} characters; any characters, spaces included. Common passwords are refused.
              </p>
              {passwordError.value && (
                <p class="field-error" role="alert">
                  {passwordError.value}
                </p>
              )}
            </div>
            <Alert>{error.value}</Alert>
            <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
              {busy.value ? "Joining…" : "Join and sign in"}
            </button>
          </form>
        )}
      </main>
    </div>
  );
}
