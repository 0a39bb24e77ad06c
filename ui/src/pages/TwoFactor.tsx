import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, post } from "../api/client";
import { hasSecondFactor, type RecoveryCodes as Codes, type TotpEnrollment } from "../api/types";
import { Alert } from "../components/Alert";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { PageHeader } from "../components/Layout";
import { RecoveryCodes } from "../components/RecoveryCodes";
import { describeError } from "../lib/errors";
import { FieldError, useFormFields } from "../lib/form";
import { useAction } from "../lib/useAction";
import { useLoad } from "../lib/useLoad";
import { loadMe, me } from "../state/auth";
import { branding } from "../state/branding";
import { search } from "../state/router";
import { toast } from "../state/toast";

/** The server's SVG as an image: never parsed into our DOM, and allowed by img-src data:. */
const svgDataUrl = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
const groupSecret = (s: string) => s.replace(/(.{4})/g, "$1 ").trim();

function Enrollment({ enrollment, onConfirmed }: { enrollment: TotpEnrollment; onConfirmed: (codes: string[] | null) => void }) {
  const code = useSignal("");
  const form = useFormFields({ code: "totp-confirm" });
  const codeWords = () => `Enter the 6-digit code your app shows for ${branding.value.name}.`;
  const { busy, error, run } = useAction(
    async (totpCode: string) => {
      // Recovery codes come with a first factor only: beside a passkey, the ones the user has stay.
      const res = await post<Partial<Codes>>("/api/security/mfa/totp/confirm", { code: totpCode });
      onConfirmed(res.recoveryCodes ?? null);
    },
    {
      onError: (err) => {
        // A refused code is the field's problem: the words (lib/errors.ts) go under it.
        if (err instanceof ApiError && (err.code === "INVALID_OTP" || err.code === "REPLAYED_OTP")) form.check({ code: describeError(err) });
        else if (!form.fromApi(err, { code: codeWords() })) error.value = describeError(err);
      },
    },
  );

  function confirm(e: Event) {
    e.preventDefault();
    if (busy.value) return;
    const c = code.value.replace(/\s+/g, "");
    if (form.check({ code: !/^\d{6}$/.test(c) && codeWords() })) void run(c);
  }

  return (
    <section class="card" aria-labelledby="enrol-heading">
      <h2 id="enrol-heading">Set up an authenticator app</h2>
      <ol class="steps">
        <li>
          <p>Scan this QR code with an authenticator app such as 1Password, Google Authenticator or Authy.</p>
          <img class="qr" src={svgDataUrl(enrollment.qrSvg)} alt="QR code for your authenticator app" width={180} height={180} />
          <p class="hint">Can't scan it? Enter this key by hand:</p>
          <p class="secret mono" aria-label="Setup key">
            {groupSecret(enrollment.secret)}
          </p>
        </li>
        <li>
          <form onSubmit={confirm} class="stack narrow" noValidate>
            <div class="field">
              <label for="totp-confirm">Enter the 6-digit code from the app</label>
              <input
                {...form.props("code")}
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={7}
                value={code.value}
                onInput={(e) => (code.value = e.currentTarget.value)}
              />
              <FieldError form={form} field="code" />
            </div>
            <Alert>{error.value}</Alert>
            <div>
              <button type="submit" class="button button-primary" aria-disabled={busy.value}>
                {busy.value ? "Checking…" : "Turn on two-factor"}
              </button>
            </div>
          </form>
        </li>
      </ol>
    </section>
  );
}

export function TwoFactorPage() {
  const enrollment = useSignal<TotpEnrollment | null>(null);
  const codes = useSignal<string[] | null>(null);
  const confirming = useSignal<"disable" | "regenerate" | null>(null);
  // The Passkeys card is loaded with this page only (it and the WebAuthn library stay out of the first load).
  const passkeysCard = useLoad(() => import("../components/Passkeys"));
  const PasskeysCard = passkeysCard.data.value?.Passkeys;
  const user = me.value?.user;
  const enabled = user?.totpEnabled === true;
  const passkeyCount = user?.passkeyCount ?? 0;
  const enrolling = me.value?.mfaEnrollmentRequired === true;
  // Sent here by a step-up the organization's policy allows only a passkey for.
  const needPasskey = new URLSearchParams(search.value).get("need") === "passkey" && passkeyCount === 0;
  // Just joined as an owner (the invitation page sends them here): why a second factor, now.
  const welcomeOwner = new URLSearchParams(search.value).get("welcome") === "owner";
  const { busy, error, run: startEnrollment } = useAction(async () => {
    enrollment.value = await post<TotpEnrollment>("/api/security/mfa/totp/enroll");
  });

  useEffect(() => {
    // Two-factor state may have changed in another tab or by an admin.
    void loadMe();
  }, []);

  if (codes.value) {
    return (
      <>
        <PageHeader title="Two-factor authentication" />
        <RecoveryCodes
          codes={codes.value}
          onDone={() => {
            codes.value = null;
            void loadMe();
          }}
        />
      </>
    );
  }

  return (
    <>
      <PageHeader title="Two-factor authentication">
        Two-factor authentication asks for a passkey or a code from your phone when you sign in and before sensitive changes, so a stolen password alone
        is not enough.
      </PageHeader>
      {welcomeOwner && user && !hasSecondFactor(user) && (
        <Alert tone="info">
          Welcome. As an owner you can change everyone's access, so set up a second factor now: with it, a stolen password alone is not enough to act
          as you.
        </Alert>
      )}
      {needPasskey && <Alert tone="warning">Your organization requires a passkey for that action. Add one below, then try again.</Alert>}
      <Alert>{error.value}</Alert>
      <section class="card" aria-labelledby="totp-heading">
        <div class="card-head">
          <div>
            <h2 id="totp-heading">
              Authenticator app{" "}
              {enabled ? <span class="badge badge-green">Enabled</span> : <span class="badge badge-neutral">Not enabled</span>}
            </h2>
            <p class="muted">Time-based one-time codes (TOTP) from an app on your phone.</p>
          </div>
          {enabled ? (
            <button type="button" class="button button-danger-outline" onClick={() => (confirming.value = "disable")}>
              Disable
            </button>
          ) : (
            !enrollment.value && (
              <button type="button" class="button button-primary" onClick={startEnrollment} aria-disabled={busy.value}>
                {busy.value ? "Starting…" : "Set up"}
              </button>
            )
          )}
        </div>
      </section>
      {enrollment.value && !enabled && (
        <Enrollment
          enrollment={enrollment.value}
          onConfirmed={(c) => {
            enrollment.value = null;
            codes.value = c;
            if (!c) void loadMe();
            toast("Two-factor authentication is on.");
          }}
        />
      )}
      <Alert>{passkeysCard.error.value}</Alert>
      {PasskeysCard && <PasskeysCard enrolling={enrolling} onRecoveryCodes={(c) => (codes.value = c)} />}
      {user && hasSecondFactor(user) && (
        <section class="card" aria-labelledby="codes-heading">
          <div class="card-head">
            <div>
              <h2 id="codes-heading">Recovery codes</h2>
              <p class="muted">Single-use codes for when your phone or passkey is not at hand. Generating new codes invalidates the old ones.</p>
            </div>
            <button type="button" class="button" onClick={() => (confirming.value = "regenerate")}>
              Generate new codes
            </button>
          </div>
        </section>
      )}
      {confirming.value === "disable" && (
        <ConfirmDialog
          title="Disable two-factor authentication?"
          confirmLabel="Disable two-factor"
          danger
          onClose={() => (confirming.value = null)}
          onConfirm={async () => {
            await post("/api/security/mfa/totp/disable");
            await loadMe();
            toast("Two-factor authentication is off.");
          }}
        >
          <p>
            {passkeyCount > 0
              ? "Codes from your authenticator app stop working. Your passkeys and recovery codes still work."
              : "Your account will be protected by your password only, and your recovery codes stop working."}
          </p>
        </ConfirmDialog>
      )}
      {confirming.value === "regenerate" && (
        <ConfirmDialog
          title="Generate new recovery codes?"
          confirmLabel="Generate new codes"
          onClose={() => (confirming.value = null)}
          onConfirm={async () => {
            codes.value = (await post<Codes>("/api/security/mfa/recovery-codes/regenerate")).recoveryCodes;
          }}
        >
          <p>Your current recovery codes stop working immediately.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
