import { MIN_PASSWORD_LENGTH } from "../api/types";
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, get, post, query } from "../api/client";
import type { InvitationPreview, Me } from "../api/types";
import { hasSecondFactor } from "../api/types";
import { Alert } from "../components/Alert";
import { SignedOutCard } from "../components/SignedOutCard";
import { describeError } from "../lib/errors";
import { FieldError, newPasswordProblem, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { loadMe, me } from "../state/auth";
import { branding } from "../state/branding";
import { appUrl, navigate, search } from "../state/router";

/** Why a link cannot be used, in words, per the API's codes: these end the page's form. */
const DEAD_LINKS: Record<string, string> = {
  INVITATION_EXPIRED: "This invitation has expired. Ask the person who invited you to send a new one.",
  INVITATION_USED: "This invitation was already used. If it was you, sign in with the password you chose.",
  INVITATION_REVOKED: "This invitation was withdrawn. Ask the person who invited you if you still need access.",
  INVITATION_NOT_FOUND: "This invitation link is not valid. Check that you copied all of it, or ask for a new one.",
  TENANT_DISABLED: "This organization's access has been disabled.",
};

/** The preview's state of a link that cannot be used, as the code accept would refuse it with. */
const DEAD_STATES: Record<Exclude<InvitationPreview["state"], "pending">, string> = {
  accepted: "INVITATION_USED",
  revoked: "INVITATION_REVOKED",
  withdrawn: "INVITATION_REVOKED",
  expired: "INVITATION_EXPIRED",
};

const article = (role: string) => (role === "admin" || role === "owner" ? `an ${role}` : `a ${role}`);

/** The link's state, a link the API does not know (or a disabled organization's) read as dead too. */
async function previewOf(token: string): Promise<InvitationPreview | { state: "dead"; code: string }> {
  try {
    return await get<InvitationPreview>(`/api/auth/invitations/preview${query({ token })}`, { ownUnauthorized: true });
  } catch (err) {
    if (err instanceof ApiError && DEAD_LINKS[err.code]) return { state: "dead", code: err.code };
    throw err;
  }
}

/** After joining: an owner without a second factor is asked to set one up at once. */
function landingAfterJoin(user: Me["user"] | undefined): string {
  return user && user.role === "owner" && !hasSecondFactor(user) ? "/security/two-factor?welcome=owner" : "/security/sessions";
}

/** `/accept-invitation?token=…`: whom the link is for, then a display name and a password, and be signed in. */
export function AcceptInvitationPage() {
  const token = new URLSearchParams(search.value).get("token") ?? "";
  const displayName = useSignal("");
  const password = useSignal("");
  const deadCode = useSignal<string | null>(token ? null : "INVITATION_NOT_FOUND");
  // The link's state as the page opens: a dead link says so before anything is typed.
  const preview = useLoad(() => (token ? previewOf(token) : Promise.resolve(null)));
  const form = useFormFields({ displayName: "accept-name", password: "accept-password" });
  const { busy, error, run } = useAction(
    async () => {
      const joined = await post<{ signInThrough?: { sso: string } }>("/api/auth/invitations/accept", { token, displayName: displayName.value.trim(), password: password.value }, { ownUnauthorized: true });
      // The organization requires single sign-on: the account exists, and its provider signs them in.
      if (joined.signInThrough) return location.assign(joined.signInThrough.sso);
      await loadMe();
      navigate(landingAfterJoin(me.value?.user), { replace: true });
    },
    {
      onError: (err) => {
        if (err instanceof ApiError && DEAD_LINKS[err.code]) deadCode.value = err.code;
        else if (!form.fromApi(err, { displayName: "Use a name of 1 to 100 characters.", password: "Choose another password." }, "password")) error.value = describeError(err);
      },
    },
  );

  const facts = preview.data.value;
  const previewError = preview.error.value;
  useEffect(() => {
    if (facts && facts.state !== "pending") deadCode.value = "code" in facts ? facts.code : DEAD_STATES[facts.state];
  }, [facts]);
  useEffect(() => {
    if (facts?.state === "pending") document.getElementById("accept-name")?.focus();
  }, [facts]);

  function submit(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    error.value = null;
    const ok = form.check({
      displayName: !displayName.value.trim() && "Enter your name as your colleagues should see it.",
      password: newPasswordProblem(password.value),
    });
    if (ok) void run();
  }

  const dead = deadCode.value ? (DEAD_LINKS[deadCode.value] ?? null) : null;
  const open = facts?.state === "pending" ? facts : null;
  return (
    <SignedOutCard title={open ? `Join ${open.organization}` : "Join your team"}>
      {dead ? (
        <div class="stack">
          <Alert tone="warning">{dead}</Alert>
          <a class="button button-block" href={appUrl("/sign-in")}>
            Go to sign-in
          </a>
        </div>
      ) : !open ? (
        previewError ? <Alert>{previewError}</Alert> : <p class="loading" role="status">Checking your invitation…</p>
      ) : (
        <>
          <p class="signin-lead">
            {open.invitedBy ? `${open.invitedBy} invited you` : "You are invited"} to join {open.organization} on {branding.value.name} as {article(open.role)}.
          </p>
          <dl class="facts invitation-facts">
            <dt>Invitation for</dt>
            <dd>{open.email}</dd>
            <dt>Organization</dt>
            <dd>{open.organization}</dd>
            {open.invitedBy && (
              <>
                <dt>Invited by</dt>
                <dd>{open.invitedBy}</dd>
              </>
            )}
          </dl>
          {me.value && <Alert tone="warning">You are signed in as {me.value.user.email}. Accepting signs you in as the new account in this browser.</Alert>}
          <form onSubmit={submit} class="stack" noValidate>
            <div class="field">
              <label for="accept-name">Your name</label>
              <input {...form.props("displayName")} type="text" autoComplete="name" required maxLength={100} value={displayName.value} onInput={(e) => (displayName.value = e.currentTarget.value)} />
              <FieldError form={form} field="displayName" />
            </div>
            <div class="field">
              <label for="accept-password">Choose a password</label>
              <input
                {...form.props("password", "accept-password-hint")}
                type="password"
                autoComplete="new-password"
                required
                value={password.value}
                onInput={(e) => (password.value = e.currentTarget.value)}
              />
              <p id="accept-password-hint" class="hint">
                At least {MIN_PASSWORD_LENGTH} characters; any characters, spaces included. Common and breached passwords are refused.
              </p>
              <FieldError form={form} field="password" />
            </div>
            <Alert>{error.value}</Alert>
            <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
              {busy.value ? "Joining…" : "Join and sign in"}
            </button>
          </form>
        </>
      )}
    </SignedOutCard>
  );
}
