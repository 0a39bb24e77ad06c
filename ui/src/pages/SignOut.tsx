import { Alert } from "../components/Alert";
import { useAction } from "../lib/useAction";
import { appUrl } from "../state/router";
import { SignedOutCard } from "../components/SignedOutCard";

/**
 * `/sign-out`: the page a product links to for signing out. Opening it never signs out (a
 * link, an image or a prefetch must not end a session): its button POSTs to the same
 * address (src/auth/sign-out-page.ts), which ends the session and names where to go, the
 * product's SIGN_OUT_PATH. Sent by fetch, not as a form: under the panel's `no-referrer`
 * policy a form's Origin would be "null", which the CSRF rules refuse.
 */
export function SignOutPage() {
  const { busy, error, run } = useAction(async () => {
    const res = await fetch(appUrl("/sign-out"), { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } });
    const body = (await res.json()) as { redirectTo?: unknown; message?: unknown };
    if (!res.ok) throw new Error(typeof body.message === "string" ? body.message : "Sign-out failed");
    location.assign(typeof body.redirectTo === "string" ? body.redirectTo : "/");
  });
  const submit = (event: Event) => {
    event.preventDefault();
    void run();
  };
  return (
    <SignedOutCard title="Sign out">
      <p class="muted">Sign out of this browser. Your other devices stay signed in.</p>
      <form method="post" action={appUrl("/sign-out")} class="stack" onSubmit={submit}>
        <Alert>{error.value}</Alert>
        <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
          {busy.value ? "Signing out…" : "Sign out"}
        </button>
      </form>
    </SignedOutCard>
  );
}
