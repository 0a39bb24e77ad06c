import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import { patch, post } from "../api/client";
import { Alert } from "../components/Alert";
import { PageHeader } from "../components/Layout";
import { useAction } from "../lib/useAction";
import { loadMe, me } from "../state/auth";
import { toast } from "../state/toast";

function ProfileForm() {
  const displayName = useSignal(me.value?.user.displayName ?? "");
  const { busy, error, run } = useAction(async () => {
    await patch("/api/account/profile", { displayName: displayName.value });
    await loadMe();
    toast("Your name was saved.");
  });
  return (
    <section class="card" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <form
        class="stack narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div class="field">
          <label for="account-name">Display name</label>
          <input id="account-name" autoComplete="name" value={displayName.value} onInput={(e) => (displayName.value = e.currentTarget.value)} />
        </div>
        <p class="hint">Your email ({me.value?.user.email}) cannot be changed here.</p>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary" aria-disabled={busy.value}>
          {busy.value ? "Saving…" : "Save name"}
        </button>
      </form>
    </section>
  );
}

function PasswordForm() {
  const current = useSignal("");
  const next = useSignal("");
  const endOthers = useSignal(true);
  const { busy, error, run } = useAction(async () => {
    const res = await post<{ revoked: number }>("/api/account/password", { currentPassword: current.value, newPassword: next.value, endOtherSessions: endOthers.value });
    current.value = "";
    next.value = "";
    toast(res.revoked > 0 ? `Password changed; ${res.revoked} other ${res.revoked === 1 ? "session" : "sessions"} signed out.` : "Password changed.");
  });
  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form
        class="stack narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div class="field">
          <label for="account-current-password">Current password</label>
          <input id="account-current-password" type="password" autoComplete="current-password" value={current.value} onInput={(e) => (current.value = e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="account-new-password">New password</label>
          <input
            id="account-new-password"
            type="password"
            autoComplete="new-password"
            aria-describedby="account-new-password-hint"
            value={next.value}
            onInput={(e) => (next.value = e.currentTarget.value)}
          />
          <p id="account-new-password-hint" class="hint">
            At least {MIN_PASSWORD_LENGTH} characters; a few unrelated words work well. Common and breached passwords are refused.
          </p>
        </div>
        <label class="checkbox">
          <input type="checkbox" checked={endOthers.value} onChange={(e) => (endOthers.value = e.currentTarget.checked)} /> Sign out my other sessions
        </label>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary" aria-disabled={busy.value}>
          {busy.value ? "Changing…" : "Change password"}
        </button>
      </form>
    </section>
  );
}

export function AccountPage() {
  return (
    <>
      <PageHeader title="Your account">Your name and password.</PageHeader>
      <ProfileForm />
      <PasswordForm />
    </>
  );
}
