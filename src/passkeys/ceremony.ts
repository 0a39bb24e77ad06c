/**
 * Checking a passkey's answer: a registration (a new credential) or an assertion (a
 * signature by a stored one). @simplewebauthn/server does the cryptography and every
 * check WebAuthn §7 lists; before it, this module reads the parts it needs (the challenge
 * the answer names, its origin, the RP ID hash, the flags, the counter) so that a refusal
 * says which rule failed. The library stays the gate: an answer these reads pass is still
 * refused unless it verifies.
 *
 * Threat model: a phishing proxy relaying the ceremony (the browser writes the origin it
 * ran on into clientDataJSON and the RP ID hash into the signed data: another origin or
 * RP ID is refused); an answer without user verification (a stolen unlocked device's
 * touch alone is refused: UV is required); a replayed answer (./challenges.ts); a cloned
 * authenticator (a signature counter that does not move forwards, for authenticators
 * that keep one); malformed JSON or CBOR (400 PASSKEY_RESPONSE_MALFORMED, never a 500).
 */
import {
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { decodeAttestationObject, isoBase64URL, isoCBOR, parseAuthenticatorData } from "@simplewebauthn/server/helpers";
import type { Passkey } from "../db/schema";
import { ERROR_CATALOGUE } from "../error-catalogue";
import { ApiError, type AuditHint } from "../errors";
import { errorSummary, log } from "../lib/log";
import { z } from "../lib/zod";
import { type ChallengeRefusal } from "./challenges";
import type { RelyingParty } from "./relying-party";

const base64url = z.string().max(16_384).regex(/^[A-Za-z0-9_-]*$/, "must be base64url");

/** A RegistrationResponseJSON, as @simplewebauthn/browser sends it (extra fields a browser adds are kept). */
export const registrationResponseSchema = z.looseObject({
  id: base64url.min(1),
  rawId: base64url.min(1),
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: z.looseObject({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});

/** An AuthenticationResponseJSON. */
export const authenticationResponseSchema = z.looseObject({
  id: base64url.min(1),
  rawId: base64url.min(1),
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
  clientExtensionResults: z.looseObject({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});

/** Why an answer was refused: each its own code in the error catalogue. */
export type PasskeyRefusal =
  | ChallengeRefusal
  | "PASSKEY_RESPONSE_MALFORMED"
  | "PASSKEY_ORIGIN_MISMATCH"
  | "PASSKEY_RP_ID_MISMATCH"
  | "PASSKEY_USER_NOT_VERIFIED"
  | "PASSKEY_COUNTER_REGRESSED"
  | "PASSKEY_INVALID";

/** Every refusal above, as the API document lists what a passkey answer may be refused with (src/openapi). */
export const PASSKEY_REFUSALS = [
  "PASSKEY_CHALLENGE_MISMATCH",
  "PASSKEY_CHALLENGE_USED",
  "PASSKEY_CHALLENGE_EXPIRED",
  "PASSKEY_RESPONSE_MALFORMED",
  "PASSKEY_ORIGIN_MISMATCH",
  "PASSKEY_RP_ID_MISMATCH",
  "PASSKEY_USER_NOT_VERIFIED",
  "PASSKEY_COUNTER_REGRESSED",
  "PASSKEY_INVALID",
] as const satisfies readonly PasskeyRefusal[];

export type Refused = { ok: false; refusal: PasskeyRefusal };

/**
 * The one answer to a refused passkey: a malformed answer is 400 wherever it comes; any
 * other refusal is 400 when adding a passkey (the session is fine, the new credential is
 * not) and 401 when signing in or stepping up (the person is not verified). The message is
 * the catalogue's; `prefix` puts it in its place.
 */
export function passkeyRefusedError(refusal: PasskeyRefusal, ceremony: "registration" | "assertion", audit: AuditHint, prefix = ""): ApiError {
  const status = refusal === "PASSKEY_RESPONSE_MALFORMED" || ceremony === "registration" ? 400 : 401;
  return new ApiError(status, refusal, `${prefix}${ERROR_CATALOGUE[refusal].message}`, { audit: { ...audit, failureReason: refusal } });
}
const refused = (refusal: PasskeyRefusal): Refused => ({ ok: false, refusal });

type ClientData = { type: string; challenge: string; origin: string };

/** The challenge an answer names (from its clientDataJSON), or null when that cannot be read. */
export function challengeOf(clientDataJSON: string): ClientData | null {
  try {
    const parsed: unknown = JSON.parse(isoBase64URL.toUTF8String(clientDataJSON));
    const data = z.looseObject({ type: z.string(), challenge: z.string().min(1).max(512), origin: z.string().max(2048) }).safeParse(parsed);
    return data.success ? data.data : null;
  } catch {
    return null;
  }
}

/** The authenticator data's parts the refusals name, or null when it does not parse. */
function authDataOf(bytes: Parameters<typeof parseAuthenticatorData>[0]): ReturnType<typeof parseAuthenticatorData> | null {
  try {
    return parseAuthenticatorData(bytes);
  } catch {
    return null;
  }
}

async function rpIdHashMatches(rpIdHash: Uint8Array, rp: RelyingParty): Promise<boolean> {
  const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rp.id)));
  return rpIdHash.length === expected.length && rpIdHash.every((b, i) => b === expected[i]);
}

/** The checks every answer meets before the library's: the ceremony's type, the origin, the RP ID, user verification. */
async function precheck(clientData: ClientData, type: "webauthn.create" | "webauthn.get", authData: ReturnType<typeof parseAuthenticatorData> | null, rp: RelyingParty): Promise<PasskeyRefusal | null> {
  if (clientData.type !== type) return "PASSKEY_RESPONSE_MALFORMED";
  if (clientData.origin !== rp.origin) return "PASSKEY_ORIGIN_MISMATCH";
  if (!authData) return "PASSKEY_RESPONSE_MALFORMED";
  if (!(await rpIdHashMatches(authData.rpIdHash, rp))) return "PASSKEY_RP_ID_MISMATCH";
  if (!authData.flags.uv) return "PASSKEY_USER_NOT_VERIFIED";
  return null;
}

/**
 * The attestation object as a browser sends it under attestation "none" (WebAuthn's
 * "none" conveyance: the statement replaced by an empty one, the authenticator data kept).
 * Gatehouse asks for "none" and trusts no attestation, so a statement some authenticator
 * sends anyway is dropped rather than verified: what the credential is (its key, its
 * flags, its RP ID) is in the authenticator data, which is still checked in full. This
 * also keeps the X.509 stack out of the bundle (./no-certificates.ts).
 */
function withoutAttestation(attestationObject: string): string {
  const decoded = decodeAttestationObject(isoBase64URL.toBuffer(attestationObject));
  if (decoded.get("fmt") === "none") return attestationObject;
  const none = new Map<string, unknown>([
    ["fmt", "none"],
    ["attStmt", new Map()],
    ["authData", decoded.get("authData")],
  ]);
  return isoBase64URL.fromBuffer(isoCBOR.encode(none as Parameters<typeof isoCBOR.encode>[0]));
}

export type NewCredential = { credentialId: string; publicKey: string; signCount: number; transports: string[]; backedUp: boolean };

/** A registration answer to `challenge` (already claimed): the credential to store, or why not. */
export async function checkRegistration(
  response: RegistrationResponseJSON,
  clientData: ClientData,
  rp: RelyingParty,
): Promise<{ ok: true; credential: NewCredential } | Refused> {
  let authData: ReturnType<typeof parseAuthenticatorData> | null = null;
  try {
    authData = authDataOf(decodeAttestationObject(isoBase64URL.toBuffer(response.response.attestationObject)).get("authData"));
  } catch {
    return refused("PASSKEY_RESPONSE_MALFORMED");
  }
  const early = await precheck(clientData, "webauthn.create", authData, rp);
  if (early) return refused(early);
  try {
    const verified = await verifyRegistrationResponse({
      response: { ...response, response: { ...response.response, attestationObject: withoutAttestation(response.response.attestationObject) } },
      expectedChallenge: clientData.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
    if (!verified.verified) return refused("PASSKEY_INVALID");
    const { credential, credentialBackedUp } = verified.registrationInfo;
    return {
      ok: true,
      credential: {
        credentialId: credential.id,
        publicKey: isoBase64URL.fromBuffer(credential.publicKey),
        signCount: credential.counter,
        transports: (response.response.transports ?? []).slice(0, 10),
        backedUp: credentialBackedUp,
      },
    };
  } catch (err) {
    log.warn("passkey registration refused", { error: errorSummary(err) });
    return refused("PASSKEY_INVALID");
  }
}

export type VerifiedAssertion = { signCount: number; backedUp: boolean };

/**
 * An assertion by `passkey` answering `clientData.challenge` (already claimed): its new
 * counter and backup state, or why not. A counter that does not move forwards is refused
 * when either side is non-zero (authenticators that keep no counter, synced passkeys
 * among them, always send 0).
 */
export async function checkAssertion(
  response: AuthenticationResponseJSON,
  clientData: ClientData,
  passkey: Pick<Passkey, "credentialId" | "publicKey" | "signCount" | "transports">,
  rp: RelyingParty,
): Promise<{ ok: true; assertion: VerifiedAssertion } | Refused> {
  let authData: ReturnType<typeof parseAuthenticatorData> | null;
  try {
    authData = authDataOf(isoBase64URL.toBuffer(response.response.authenticatorData));
  } catch {
    return refused("PASSKEY_RESPONSE_MALFORMED");
  }
  const early = await precheck(clientData, "webauthn.get", authData, rp);
  if (early) return refused(early);
  const counter = authData?.counter ?? 0;
  if ((counter > 0 || passkey.signCount > 0) && counter <= passkey.signCount) return refused("PASSKEY_COUNTER_REGRESSED");
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: { id: passkey.credentialId, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: passkey.signCount, transports: passkey.transports ?? [] },
      requireUserVerification: true,
    });
    if (!verified.verified) return refused("PASSKEY_INVALID");
    return { ok: true, assertion: { signCount: verified.authenticationInfo.newCounter, backedUp: verified.authenticationInfo.credentialBackedUp } };
  } catch (err) {
    log.warn("passkey assertion refused", { error: errorSummary(err) });
    return refused("PASSKEY_INVALID");
  }
}
