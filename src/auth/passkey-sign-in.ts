/**
 * The passkey way in: a discoverable credential says whose it is, so "who is this" is the
 * credential's owner, and its signature, made with the user verified (PIN or biometric),
 * is both factors at once. It then goes through the same steps as a password
 * (./sign-in.ts): the sign-in throttles, the IP rules, a disabled member, the session.
 *
 * `amr` (RFC 8176): "hwk" for a device-bound passkey (the key never leaves its hardware),
 * "swk" for a synced one (the key lives in a cloud keychain: a software-secured key as far
 * as this relying party can tell), then "user" (the authenticator verified the user; which
 * way, PIN or biometric, it does not say) and "mfa".
 *
 * Threat model: a relayed sign-in (the origin and RP ID are signed, ./ceremony.ts in
 * src/passkeys); a replayed answer (the challenge, single use, its id given to the client);
 * guessing (the answer is counted against the sign-in throttles and the credential owner's
 * factor lockout before it is checked); an unknown credential (the challenge is spent and
 * the answer refused like a wrong one; nothing tells it apart from a bad signature).
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { users } from "../db/schema";
import type { AppEnv } from "../env";
import { DUMMY_PASSWORD_HASH } from "../lib/password";
import { findAsserted, verifyAsserted } from "../passkeys/assertion";
import { claimChallenge } from "../passkeys/challenges";
import { challengeOf } from "../passkeys/ceremony";
import { findPasskeyByCredentialId } from "../passkeys/store";
import { withFactorAttempt } from "../stepup/second-factor";
import { deviceCookieKeys, readDevice } from "./device";
import type { CredentialOutcome, WayIn } from "./sign-in";
import { NOBODY, type SignInSubject } from "./sign-in-subject";
import { signInUnavailable } from "./throttle";

/** The throttles' name for an answer by a credential nobody has. */
const UNKNOWN_CREDENTIAL = "passkey:unknown";

/** Who is this: the owner of the credential the answer names (a current member), or NOBODY. */
export async function identifyPasskey(c: Context<AppEnv>, response: AuthenticationResponseJSON): Promise<SignInSubject> {
  const user = await (async () => {
    const passkey = await findPasskeyByCredentialId(c.var.db, response.id);
    if (!passkey) return null;
    return (await c.var.db.query.users.findFirst({ where: and(eq(users.id, passkey.userId), isNull(users.removedAt)) })) ?? null;
  })().catch((err: unknown) => {
    throw signInUnavailable(c, "passkey owner lookup", err);
  });
  if (!user) return { email: UNKNOWN_CREDENTIAL, user: null, ...NOBODY, passwordHash: DUMMY_PASSWORD_HASH };
  return { email: user.email, user, tenantId: user.tenantId, userId: user.id, passwordHash: user.passwordHash };
}

/** The passkey way in for the answer to sign-in challenge `challengeId`. */
export async function passkeyWayIn(c: Context<AppEnv>, subject: SignInSubject, challengeId: string, response: AuthenticationResponseJSON): Promise<WayIn> {
  const keys = await deviceCookieKeys(c.env);
  return {
    kind: "passkey",
    email: subject.email,
    device: { keys, id: subject.user ? await readDevice(c, keys, subject.email) : null },
    checkCredential: (s) => checkPasskey(c, s, challengeId, response),
    // Its check spends a factor attempt of the credential's owner: not from a blocked address.
    addressFirst: true,
  };
}

async function checkPasskey(c: Context<AppEnv>, subject: SignInSubject, challengeId: string, response: AuthenticationResponseJSON): Promise<CredentialOutcome> {
  const user = subject.user;
  if (!user) {
    // Spent all the same: an answer by an unknown credential leaves no challenge to retry.
    const clientData = challengeOf(response.response.clientDataJSON);
    if (clientData) await claimChallenge(c.var.db, clientData.challenge, { kind: "sign-in", id: challengeId }, c.get("now"));
    return { ok: false, passkey: clientData ? "PASSKEY_INVALID" : "PASSKEY_RESPONSE_MALFORMED" };
  }
  return withFactorAttempt(c, user, async (): Promise<CredentialOutcome> => {
    const found = await findAsserted(c, response, { kind: "sign-in", id: challengeId }, user.id);
    if (!found.ok) return { ok: false, passkey: found.refusal };
    const verified = await verifyAsserted(c, found.asserted);
    if (!verified.ok) return { ok: false, passkey: verified.refusal };
    return { ok: true, amr: [verified.passkey.backedUp ? "swk" : "hwk", "user", "mfa"] };
  });
}
