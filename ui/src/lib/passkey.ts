/**
 * The browser's side of a passkey (WebAuthn through @simplewebauthn/browser): create one,
 * use one, or offer the saved ones in the email field's autofill (conditional mediation).
 * The library is loaded on first use (its own chunk), so pages without a passkey never
 * download it. Its failures become ApiErrors with words for people; an AbortError (another
 * ceremony took over, or the page left) is PASSKEY_ABORTED, which callers ignore.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/browser";
import { ApiError } from "../api/client";

export type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON };

type Library = typeof import("@simplewebauthn/browser");
let loading: Promise<Library> | null = null;
let loaded: Library | null = null;
const library = () =>
  (loading ??= import("@simplewebauthn/browser").then(
    (lib) => (loaded = lib),
    (err: unknown) => {
      loading = null; // a failed download (offline) may be retried
      throw err;
    },
  ));

/** Whether this browser has WebAuthn at all (the library's own test, without loading it). */
export const passkeysSupported = () => typeof window.PublicKeyCredential === "function";

export const isAborted = (err: unknown) => err instanceof ApiError && err.code === "PASSKEY_ABORTED";

/** The browser's refusal in words; the codes are the panel's own (status 0: nothing reached the server). */
function ceremonyError(err: unknown): ApiError {
  const name = err instanceof Error ? err.name : "";
  if (name === "AbortError") return new ApiError(0, "PASSKEY_ABORTED", "The passkey request was cancelled.");
  if (name === "NotAllowedError") return new ApiError(0, "PASSKEY_PROMPT_CLOSED", "The passkey prompt was closed or timed out. Try again when you're ready.");
  if (name === "InvalidStateError") return new ApiError(0, "PASSKEY_ON_DEVICE", "This device or security key already holds a passkey for your account.");
  if (name === "SecurityError") return new ApiError(0, "PASSKEY_WRONG_SITE", "Passkeys do not work on this address: open Gatehouse at its own address.");
  return new ApiError(0, "PASSKEY_FAILED", `The passkey could not be used${err instanceof Error && err.message ? `: ${err.message}` : "."}`);
}

async function ceremony<T>(run: (lib: Library) => Promise<T>): Promise<T> {
  if (!passkeysSupported()) throw new ApiError(0, "PASSKEY_UNSUPPORTED", "This browser cannot use passkeys. Use another browser, or another way to verify.");
  let lib: Library;
  try {
    lib = await library();
  } catch {
    throw new ApiError(0, "NETWORK_ERROR", "Can't reach Gatehouse. Check your connection and try again.");
  }
  try {
    return await run(lib);
  } catch (err) {
    throw ceremonyError(err);
  }
}

/** Asks the authenticator for a new passkey (registration). */
export const createPasskey = (optionsJSON: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> =>
  ceremony((lib) => lib.startRegistration({ optionsJSON }));

/** The autofill offer waiting for the user, if any (a token: a newer offer or ceremony replaces it). */
let autofillOffer: object | null = null;

/** Asks the user to pick one of their passkeys and sign the challenge (authentication). */
export function signWithPasskey(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON> {
  autofillOffer = null; // this ceremony cancels the offer (the library allows one at a time)
  return ceremony((lib) => lib.startAuthentication({ optionsJSON }));
}

/** Whether the browser can offer passkeys in an `autocomplete="… webauthn"` field. */
export async function autofillSupported(): Promise<boolean> {
  if (!passkeysSupported()) return false;
  try {
    return await (await library()).browserSupportsWebAuthnAutofill();
  } catch {
    return false;
  }
}

/**
 * Offers the saved passkeys in the autofill of the page's `autocomplete="username webauthn"`
 * field; resolves when the user picks one. Any other ceremony (a passkey button) cancels it.
 */
export async function passkeyFromAutofill(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON> {
  const offer = {};
  autofillOffer = offer;
  try {
    return await ceremony((lib) => lib.startAuthentication({ optionsJSON, useBrowserAutofill: true }));
  } finally {
    if (autofillOffer === offer) autofillOffer = null;
  }
}

/** Withdraws the autofill offer (the page that made it is going away); any other ceremony is left alone. */
export function stopAutofill(): void {
  if (autofillOffer) loaded?.WebAuthnAbortService.cancelCeremony();
  autofillOffer = null;
}
