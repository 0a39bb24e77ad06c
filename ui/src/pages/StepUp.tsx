import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { sanitizeReturnTo } from "../../../src/gateway/return-to";
import { STEP_UP_MESSAGE_TYPE, type StepUpMessage } from "../../../src/gateway/step-up-message";
import { ApiError, get, query } from "../api/client";
import type { StepUpChallenge } from "../api/types";
import { Alert } from "../components/Alert";
import { ADD_PASSKEY_PATH } from "../components/StepUpModal";
import { describeError } from "../lib/errors";
import { notDoneNotice } from "../lib/not-done";
import { appUrl, search } from "../state/router";
import { requestStepUp } from "../state/stepup";
import { me } from "../state/auth";
import { branding } from "../state/branding";

/** The window to report to: the product page framing this one, or the one that opened it; null when the page was navigated to. */
function opener(): Window | null {
  if (window.parent !== window) return window.parent;
  return window.opener instanceof Window ? window.opener : null;
}

/**
 * `/step-up?purpose=…&returnTo=…`: the product asked for a fresh step-up (a STEP_UP_ROUTES
 * route). The purpose's label and methods come from Gatehouse, never from the address; the
 * user verifies in the usual dialog, then the page goes back to returnTo (a same-origin
 * path only) or, opened as a dialog by client.js, tells its opener and lets it retry.
 */
export function StepUpPage() {
  const error = useSignal<string | null>(null);
  const params = new URLSearchParams(search.value);
  const purpose = params.get("purpose") ?? "";
  const returnTo = sanitizeReturnTo(params.get("returnTo"));
  const reportTo = opener();

  useEffect(() => {
    if (reportTo) document.documentElement.classList.add("embedded");
    /** `enroll`: no factor can earn it; "passkey" when the organization's policy needs one. */
    const finish = (verified: boolean, enroll: false | "two-factor" | "passkey" = false) => {
      if (reportTo) {
        const message: StepUpMessage = { type: STEP_UP_MESSAGE_TYPE, purpose, verified, ...(enroll ? { enroll: true as const } : {}) };
        reportTo.postMessage(message, location.origin);
        if (window.parent === window) window.close();
        return;
      }
      // Cancelled: not back to the page that needs the step-up (it would only ask again).
      location.replace(enroll ? appUrl(enroll === "passkey" ? ADD_PASSKEY_PATH : "/security/two-factor") : verified ? returnTo : "/");
    };
    void (async () => {
      try {
        const challenge = await get<StepUpChallenge>(`/api/security/stepup/challenge${query({ purpose })}`);
        // No factor that can earn it: straight to setting one up, on the top page.
        if (challenge.enrollmentRequired) {
          finish(false, challenge.phishingResistantRequired ? "passkey" : "two-factor");
          return;
        }
        await requestStepUp(challenge);
        finish(true);
      } catch (err) {
        if (err instanceof ApiError && err.code === "STEP_UP_CANCELLED") {
          finish(false);
          return;
        }
        error.value = describeError(err);
        if (reportTo) finish(false);
      }
    })();
  }, []);

  if (reportTo) return null;
  return (
    <main class="step-up-page">
      <h1 tabIndex={-1}>Confirm it's you</h1>
      <p class="muted">
        {branding.value.name} is checking it's you{me.value?.tenant ? ` (${me.value.user.email}, ${me.value.tenant.name})` : ""} before you continue.
      </p>
      <Alert tone="warning">{notDoneNotice(search.value, "Once you've confirmed it's you")}</Alert>
      <Alert>{error.value}</Alert>
    </main>
  );
}
