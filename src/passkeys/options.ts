/**
 * The options each passkey ceremony starts with, for the browser's navigator.credentials
 * (through @simplewebauthn/browser): always with a challenge issued and bound here
 * (./challenges.ts), the relying party from configuration (./relying-party.ts), user
 * verification required, attestation "none", discoverable credentials.
 */
import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import type { AuthenticatorTransport } from "@simplewebauthn/server";
import type { Context } from "hono";
import type { User } from "../db/schema";
import type { AppEnv } from "../env";
import { fromBase64Url } from "../lib/crypto";

/** Bytes of base64url text, as the library takes them (a string it would encode as UTF-8: another challenge). */
const bytesOf = (text: string) => new Uint8Array(fromBase64Url(text));
import { userHandleOf } from "./assertion";
import { CHALLENGE_TTL_MS, issueChallenge } from "./challenges";
import { relyingParty } from "./relying-party";
import { listPasskeys } from "./store";

const TIMEOUT_MS = CHALLENGE_TTL_MS;

const descriptorsOf = (rows: Awaited<ReturnType<typeof listPasskeys>>) =>
  rows.map((p) => ({ id: p.credentialId, transports: (p.transports ?? []) as AuthenticatorTransport[] }));

/** Registration: excludes the user's passkeys (an authenticator holding one says so instead of making a second). */
export async function registrationOptions(c: Context<AppEnv>, user: User, sessionId: string) {
  const rp = relyingParty(c.env);
  const { challenge } = await issueChallenge(c.var.db, { kind: "registration", sessionId, userId: user.id }, c.get("now"));
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.displayName,
    userID: bytesOf(userHandleOf(user.id)),
    challenge: bytesOf(challenge),
    timeout: TIMEOUT_MS,
    attestationType: "none",
    excludeCredentials: descriptorsOf(await listPasskeys(c.var.db, user.id)),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
  });
}

/** A step-up: the user's passkeys, for this session and purpose. */
export async function stepUpPasskeyOptions(c: Context<AppEnv>, user: User, binding: { sessionId: string; purpose: string }) {
  const rp = relyingParty(c.env);
  const { challenge } = await issueChallenge(c.var.db, { kind: "step-up", userId: user.id, ...binding }, c.get("now"));
  return generateAuthenticationOptions({
    rpID: rp.id,
    challenge: bytesOf(challenge),
    timeout: TIMEOUT_MS,
    userVerification: "required",
    allowCredentials: descriptorsOf(await listPasskeys(c.var.db, user.id)),
  });
}

/** A sign-in: no allowCredentials (the passkey says whose it is); the challenge's id goes back with the answer. */
export async function signInPasskeyOptions(c: Context<AppEnv>) {
  const rp = relyingParty(c.env);
  const { id, challenge } = await issueChallenge(c.var.db, { kind: "sign-in" }, c.get("now"));
  const options = await generateAuthenticationOptions({ rpID: rp.id, challenge: bytesOf(challenge), timeout: TIMEOUT_MS, userVerification: "required" });
  return { challengeId: id, options };
}
