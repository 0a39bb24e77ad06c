// Passkeys in the browser scenarios: a CDP virtual authenticator on a page (a platform
// authenticator with discoverable credentials and user verification, which answers
// without a touch), and the step-up modal answered with it.
import { submitStepUp } from "./browser.mjs";

/** Gives `page` a virtual authenticator; returns what `credentials()` reads its passkeys with. */
export async function addVirtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return {
    /** The passkeys the authenticator holds (rpId, userHandle, signCount). */
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
  };
}

/**
 * Until the page loads again, it cannot offer passkeys in the email field's autofill
 * (conditional mediation): the browser reports no support, as some do. A person picks a
 * passkey from that list; the virtual authenticator answers such a request at once, so a
 * sign-in page would sign its passkey's owner straight back in before a scenario could
 * sign in another way.
 */
export async function withoutPasskeyAutofill(page) {
  await page.evaluate(() => {
    window.PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
}

/** Answers the step-up modal with the passkey (the method it offers first when the user has one). */
export async function stepUpWithPasskey(page) {
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await dialog.waitFor();
  const choice = dialog.getByRole("radio", { name: "Passkey" });
  // One method only (a policy that requires passkeys): no choice is shown.
  if ((await choice.count()) > 0) await choice.check();
  await submitStepUp(dialog, "Use passkey");
}
