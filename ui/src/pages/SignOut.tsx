import { useSignal } from "@preact/signals";
import { Alert } from "../components/Alert";
import { appUrl } from "../state/router";

/**
 * `/sign-out`: the page a product links to for signing out. Opening it never signs out (a
 * link, an image or a prefetch must not end a session): its button POSTs to the same
 * address (src/auth/sign-out-page.ts), which ends the session and names where to go, the
 * product's SIGN_OUT_PATH. Sent by fetch, not as a form: under the panel's `no-referrer`
 * policy a form's Origin would be "null", which the CSRF rules refuse.
 */
export function SignOutPage() {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    try {
      const res = await fetch(appUrl("/sign-out"), { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } });
      const body = (await res.json()) as { redirectTo?: unknown; message?: unknown };
      if (!res.ok) throw new Error(typeof body.message === "string" ? body.message : "Sign-out failed");
      location.assign(typeof body.redirectTo === "string" ? body.redirectTo : "/");
    } catch (err) {
      error.value = err instanceof Error ? err.message : "Sign-out failed";
      busy.value = false;
    }
  };
  return (
    <div class="signin">
      <main id="main" class="signin-card">
        <div class="signin-brand">
          <img src={appUrl("/favicon.svg")} alt="" width={36} height={36} />
        </div>
        <h1 tabIndex={-1}>Sign out</h1>
        <p class="muted">Sign out of this browser. Your other devices stay signed in.</p>
        <form method="post" action={appUrl("/sign-out")} class="stack" onSubmit={submit}>
          <Alert>{error.value}</Alert>
          <button type="submit" class="button button-primary button-block" aria-disabled={busy.value}>
            {busy.value ? "Signing out…" : "Sign out"}
          </button>
        </form>
      </main>
    </div>
  );
}
