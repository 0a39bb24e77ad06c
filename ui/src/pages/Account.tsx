import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import { ApiError, patch, post } from "../api/client";
import { Alert } from "../components/Alert";
import { PageHeader } from "../components/Layout";
import { describeError } from "../lib/errors";
import { FieldError, newPasswordProblem, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { loadMe, me } from "../state/auth";
import { toast } from "../state/toast";

/** The longest display name the API takes (src/users/schemas.ts). */
const MAX_NAME = 100;

function ProfileForm() {
  const displayName = useSignal(me.value?.user.displayName ?? "");
  const form = useFormFields({ displayName: "account-name" });
  const { busy, error, run } = useAction(
    async () => {
      await patch("/api/account/profile", { displayName: displayName.value.trim() });
      await loadMe();
      toast("Your name was saved.");
    },
    { onError: (err) => void (form.fromApi(err, { displayName: `Use a name of 1 to ${MAX_NAME} characters.` }) || (error.value = describeError(err))) },
  );
  return (
    <section class="card" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <form
        class="stack narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check({ displayName: !displayName.value.trim() && "Enter your name as your colleagues should see it." })) void run();
        }}
      >
        <div class="field">
          <label for="account-name">Display name</label>
          <input {...form.props("displayName")} autoComplete="name" maxLength={MAX_NAME} value={displayName.value} onInput={(e) => (displayName.value = e.currentTarget.value)} />
          <FieldError form={form} field="displayName" />
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
  const form = useFormFields({ currentPassword: "account-current-password", newPassword: "account-new-password" });
  const { busy, error, run } = useAction(
    async () => {
      const res = await post<{ revoked: number }>("/api/account/password", { currentPassword: current.value, newPassword: next.value, endOtherSessions: endOthers.value });
      current.value = "";
      next.value = "";
      toast(res.revoked > 0 ? `Password changed; ${res.revoked} other ${res.revoked === 1 ? "session" : "sessions"} signed out.` : "Password changed.");
    },
    {
      onError: (err) => {
        if (err instanceof ApiError && err.code === "INVALID_PASSWORD") form.check({ currentPassword: "That is not your current password." });
        else if (err instanceof ApiError && err.code === "PASSWORD_UNCHANGED") form.check({ newPassword: "That is your current password: choose a new one." });
        else if (!form.fromApi(err, { currentPassword: "Enter your current password.", newPassword: "Choose another password." }, "newPassword")) error.value = describeError(err);
      },
    },
  );
  return (
    <section class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <form
        class="stack narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (form.check({ currentPassword: !current.value && "Enter your current password.", newPassword: newPasswordProblem(next.value) })) void run();
        }}
      >
        <div class="field">
          <label for="account-current-password">Current password</label>
          <input {...form.props("currentPassword")} type="password" autoComplete="current-password" value={current.value} onInput={(e) => (current.value = e.currentTarget.value)} />
          <FieldError form={form} field="currentPassword" />
        </div>
        <div class="field">
          <label for="account-new-password">New password</label>
          <input
            {...form.props("newPassword", "account-new-password-hint")}
            type="password"
            autoComplete="new-password"
            value={next.value}
            onInput={(e) => (next.value = e.currentTarget.value)}
          />
          <p id="account-new-password-hint" class="hint">
            At least {MIN_PASSWORD_LENGTH} characters; a few unrelated words work well. Common and breached passwords are refused.
          </p>
          <FieldError form={form} field="newPassword" />
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
