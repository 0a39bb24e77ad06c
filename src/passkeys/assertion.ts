/**
 * A passkey's assertion, in two steps every path shares (sign-in, step-up):
 *
 *   1. whose is it: the challenge it answers is claimed for the expected binding
 *      (./challenges.ts) and the credential it names is found (findAsserted);
 *   2. is it theirs: the signature and the rest are checked (./ceremony.ts) and, when
 *      they pass, the use is recorded (verifyAsserted).
 *
 * The caller counts the attempt between the two (sign-in's throttles, the shared factor
 * lockout), once it knows whose credential is named and before anything is verified.
 *
 * Threat model: an assertion signed by another user's credential (the owner the caller
 * expects is compared, and a user handle the authenticator returns must be the owner's);
 * a cloned authenticator racing the original with the same counter (the counter is
 * advanced by a conditional UPDATE on the value that was checked).
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { type Passkey, passkeys } from "../db/schema";
import type { AppEnv } from "../env";
import { fromBase64Url, toBase64Url } from "../lib/crypto";
import { failClosed } from "../lib/fail-closed";
import { checkAssertion, challengeOf, type Refused } from "./ceremony";
import { type ChallengeBinding, claimChallenge } from "./challenges";
import { relyingParty } from "./relying-party";
import { findPasskeyByCredentialId } from "./store";

/** The WebAuthn user handle of a user: their id's bytes (random, no personal data), base64url. */
export const userHandleOf = (userId: string): string => toBase64Url(new TextEncoder().encode(userId));

export type Asserted = { passkey: Passkey; response: AuthenticationResponseJSON; challenge: string; origin: string; type: string };

/**
 * Step 1: claims the challenge `response` answers for `expected`, and finds the passkey it
 * names. `owner`: the user it must belong to (step-up); null when the passkey says who
 * signs in.
 */
export async function findAsserted(
  c: Context<AppEnv>,
  response: AuthenticationResponseJSON,
  expected: ChallengeBinding & { id?: string },
  owner: string | null,
): Promise<{ ok: true; asserted: Asserted } | Refused> {
  const clientData = challengeOf(response.response.clientDataJSON);
  if (!clientData) return { ok: false, refusal: "PASSKEY_RESPONSE_MALFORMED" };
  const challengeRefusal = await claimChallenge(c.var.db, clientData.challenge, expected, c.get("now"));
  if (challengeRefusal) return { ok: false, refusal: challengeRefusal };
  const passkey = await failClosed("passkey store", () => findPasskeyByCredentialId(c.var.db, response.id));
  if (!passkey || (owner !== null && passkey.userId !== owner)) return { ok: false, refusal: "PASSKEY_INVALID" };
  const handle = response.response.userHandle;
  if (handle !== undefined && !sameBytes(handle, userHandleOf(passkey.userId))) return { ok: false, refusal: "PASSKEY_INVALID" };
  return { ok: true, asserted: { passkey, response, ...clientData } };
}

/** Step 2: checks the assertion and records the use (counter, last use, backup state). */
export async function verifyAsserted(c: Context<AppEnv>, asserted: Asserted): Promise<{ ok: true; passkey: Passkey } | Refused> {
  const { passkey } = asserted;
  const checked = await checkAssertion(asserted.response, asserted, passkey, relyingParty(c.env));
  if (!checked.ok) return checked;
  const now = c.get("now");
  const recorded = await failClosed("passkey store", () =>
    c.var.db
      .update(passkeys)
      .set({ signCount: checked.assertion.signCount, lastUsedAt: now, backedUp: checked.assertion.backedUp })
      .where(and(eq(passkeys.id, passkey.id), eq(passkeys.signCount, passkey.signCount))),
  );
  // Another assertion with a counter this one did not exceed was accepted meanwhile.
  if (checked.assertion.signCount > 0 && recorded.meta.changes !== 1) return { ok: false, refusal: "PASSKEY_COUNTER_REGRESSED" };
  return { ok: true, passkey: { ...passkey, signCount: checked.assertion.signCount, lastUsedAt: now, backedUp: checked.assertion.backedUp } };
}

function sameBytes(a: string, b: string): boolean {
  try {
    const x = fromBase64Url(a);
    const y = fromBase64Url(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  } catch {
    return false;
  }
}
