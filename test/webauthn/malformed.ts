// Corrupted copies of the soft authenticator's responses, for tests that a relying party answers
// malformed input with a clear 400 and never a 500. Nothing here is signed again: the point is
// that parsing fails before any signature is looked at.

import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto";
import { concatBytes } from "./cbor";
import { noneAttestationObject } from "./soft-authenticator";

export type Malformation =
  /** The authenticator data cut off inside the sign count (36 of its bytes). */
  | "truncated-authenticator-data"
  /** Bytes that are not CBOR where CBOR is expected: the attestation object, or an assertion's extension data (ED flag set). */
  | "invalid-cbor"
  /** clientDataJSON is not base64url. */
  | "not-base64url"
  /** clientDataJSON decodes, but not to JSON. */
  | "client-data-not-json";

const TRUNCATED_LENGTH = 36;
const FLAG_ED = 0x80;
/** A CBOR map announcing one entry, then nothing. */
const UNFINISHED_CBOR = Uint8Array.of(0xa1);

export function malformed<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(response: T, how: Malformation): T {
  const copy = structuredClone(response);
  if (how === "not-base64url") copy.response.clientDataJSON = "not*base64url!";
  else if (how === "client-data-not-json") copy.response.clientDataJSON = toBase64Url(new TextEncoder().encode("{not json"));
  else if ("attestationObject" in copy.response) corruptRegistration(copy.response, how);
  else if ("signature" in copy.response) corruptAssertion(copy.response, how);
  return copy;
}

function corruptRegistration(response: RegistrationResponseJSON["response"], how: "truncated-authenticator-data" | "invalid-cbor"): void {
  if (how === "invalid-cbor") {
    response.attestationObject = toBase64Url(UNFINISHED_CBOR);
    return;
  }
  const authData = fromBase64Url(response.authenticatorData ?? "").subarray(0, TRUNCATED_LENGTH);
  response.authenticatorData = toBase64Url(authData);
  response.attestationObject = toBase64Url(noneAttestationObject(authData));
}

function corruptAssertion(response: AuthenticationResponseJSON["response"], how: "truncated-authenticator-data" | "invalid-cbor"): void {
  const authData = fromBase64Url(response.authenticatorData);
  if (how === "truncated-authenticator-data") {
    response.authenticatorData = toBase64Url(authData.subarray(0, TRUNCATED_LENGTH));
    return;
  }
  const flagged = authData.slice();
  flagged[32] = (flagged[32] ?? 0) | FLAG_ED;
  response.authenticatorData = toBase64Url(concatBytes(flagged, UNFINISHED_CBOR));
}
