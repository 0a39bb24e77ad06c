import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  type AuthenticationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import { ORIGIN } from "./helpers";
import { type Malformation, malformed } from "./webauthn/malformed";
import { type AuthenticateKnobs, credentialIdOf, derSignature, type RegisterKnobs, SoftAuthenticator } from "./webauthn/soft-authenticator";

// The soft authenticator is checked against @simplewebauthn/server itself: what it builds by
// hand verifies, and each knob that gets a part wrong makes the library refuse.

const RP_ID = new URL(ORIGIN).hostname;
const OTHER_ORIGIN = "https://gatehouse.evil.test";
const OTHER_RP_ID = "evil.test";

function registrationOptions(userName: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: "Gatehouse",
    rpID: RP_ID,
    userName,
    attestationType: "none",
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
    supportedAlgorithmIDs: [-7],
  });
}

function verifyRegistration(response: RegistrationResponseJSON, options: PublicKeyCredentialCreationOptionsJSON) {
  return verifyRegistrationResponse({ response, expectedChallenge: options.challenge, expectedOrigin: ORIGIN, expectedRPID: RP_ID, requireUserVerification: true });
}

function verifyAuthentication(response: AuthenticationResponseJSON, options: PublicKeyCredentialRequestOptionsJSON, credential: WebAuthnCredential) {
  return verifyAuthenticationResponse({
    response,
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential,
    requireUserVerification: true,
  });
}

/** A user with one registered passkey, as the relying party stored it. */
async function registered(userName = "ada@acme.test", knobs: RegisterKnobs = {}) {
  const authenticator = new SoftAuthenticator({ origin: ORIGIN });
  const options = await registrationOptions(userName);
  const verification = await verifyRegistration(await authenticator.register(options, knobs), options);
  if (!verification.verified || !verification.registrationInfo) throw new Error("registration did not verify");
  return { authenticator, options, stored: verification.registrationInfo.credential, info: verification.registrationInfo };
}

async function signIn(user: Awaited<ReturnType<typeof registered>>, knobs: AuthenticateKnobs = {}) {
  const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: user.stored.id }], userVerification: "required" });
  return verifyAuthentication(await user.authenticator.authenticate(options, knobs), options, user.stored);
}

describe("the soft authenticator's genuine responses", () => {
  it("a registration and a sign-in verify with user verification required, the sign count going up by one", async () => {
    const user = await registered();
    expect(user.info.fmt).toBe("none");
    expect(user.info.credentialDeviceType).toBe("singleDevice");
    expect(user.info.credentialBackedUp).toBe(false);
    expect(user.stored.transports).toEqual(["internal"]);
    expect(user.authenticator.credential(user.stored.id)?.userHandle).toBe(user.options.user.id);

    const first = await signIn(user);
    expect(first.verified).toBe(true);
    expect(first.authenticationInfo.newCounter).toBe(1);
    expect(first.authenticationInfo.userVerified).toBe(true);
  });

  it("a discoverable sign-in (no allowed credentials) answers with the registered user handle", async () => {
    const user = await registered();
    const options = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: "required" });
    const response = await user.authenticator.authenticate(options);
    expect(credentialIdOf(response)).toBe(user.stored.id);
    expect(response.response.userHandle).toBe(user.options.user.id);
    expect((await verifyAuthentication(response, options, user.stored)).verified).toBe(true);
  });

  it("a synced passkey carries the backup flags and verifies as backed up", async () => {
    const user = await registered("ada@acme.test", { synced: true });
    expect(user.info.credentialDeviceType).toBe("multiDevice");
    expect(user.info.credentialBackedUp).toBe(true);
    expect((await signIn(user)).authenticationInfo.credentialBackedUp).toBe(true);
  });

  it("an authenticator that keeps its sign count at zero verifies on every sign-in", async () => {
    const user = await registered("ada@acme.test", { counterMode: "zero" });
    for (let i = 0; i < 2; i++) {
      const verification = await signIn(user);
      expect(verification.verified).toBe(true);
      expect(verification.authenticationInfo.newCounter).toBe(0);
    }
  });

  it("a credential adopted by a second authenticator signs for its original user", async () => {
    const user = await registered();
    const copy = new SoftAuthenticator({ origin: ORIGIN });
    copy.adopt(user.authenticator.credentials[0]!);
    expect((await signIn({ ...user, authenticator: copy })).verified).toBe(true);
  });

  it("an authenticator holding an excluded credential refuses to register, unless told to ignore the exclusion", async () => {
    const user = await registered();
    const again = await generateRegistrationOptions({
      rpName: "Gatehouse",
      rpID: RP_ID,
      userName: "ada@acme.test",
      attestationType: "none",
      excludeCredentials: [{ id: user.stored.id }],
    });
    await expect(user.authenticator.register(again)).rejects.toThrow(/holds excluded credential/);
    expect((await verifyRegistration(await user.authenticator.register(again, { ignoreExcludeCredentials: true }), again)).verified).toBe(true);
  });

  it("a raw ECDSA signature is DER-encoded with leading zeros dropped and a zero byte before a set high bit", () => {
    const r = new Uint8Array(32).fill(0x11);
    r.set([0x00, 0x00, 0x85]); // leading zeros, then a byte with its high bit set
    const s = new Uint8Array(32).fill(0x22);
    s[0] = 0x80;
    const der = derSignature(new Uint8Array([...r, ...s]));
    const rBody = [0x00, 0x85, ...new Array(29).fill(0x11)];
    const sBody = [0x00, 0x80, ...new Array(31).fill(0x22)];
    expect([...der]).toEqual([0x30, 4 + rBody.length + sBody.length, 0x02, rBody.length, ...rBody, 0x02, sBody.length, ...sBody]);
    expect([...derSignature(new Uint8Array(64))]).toEqual([0x30, 6, 0x02, 1, 0x00, 0x02, 1, 0x00]);
  });
});

describe("each knob makes the library refuse", () => {
  it.each<[string, RegisterKnobs, RegExp]>([
    ["a registration for another origin is refused", { origin: OTHER_ORIGIN }, /Unexpected response origin/],
    ["a registration hashing another RP ID is refused", { rpId: OTHER_RP_ID }, /Unexpected RP ID hash/],
    ["a registration without user verification is refused", { userVerified: false }, /User verification was required/],
    ["a registration without user presence is refused", { userPresent: false }, /User presence was required/],
    ["a registration answering another challenge is refused", { challenge: "b3RoZXItY2hhbGxlbmdl" }, /Unexpected registration response challenge/],
    ["a registration of type webauthn.get is refused", { type: "webauthn.get" }, /Unexpected registration response type: webauthn.get/],
  ])("%s", async (_name, knobs, refusal) => {
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });
    const options = await registrationOptions("ada@acme.test");
    await expect(verifyRegistration(await authenticator.register(options, knobs), options)).rejects.toThrow(refusal);
  });

  it.each<[string, AuthenticateKnobs, RegExp]>([
    ["a sign-in for another origin is refused", { origin: OTHER_ORIGIN }, /Unexpected response origin/],
    ["a sign-in hashing another RP ID is refused", { rpId: OTHER_RP_ID }, /Unexpected RP ID hash/],
    ["a sign-in without user verification is refused", { userVerified: false }, /User verification required/],
    ["a sign-in without user presence is refused", { userPresent: false }, /User not present/],
    ["a sign-in answering another challenge is refused", { challenge: "b3RoZXItY2hhbGxlbmdl" }, /Unexpected authentication response challenge/],
    ["a sign-in of type webauthn.create is refused", { type: "webauthn.create" }, /Unexpected authentication response type: webauthn.create/],
  ])("%s", async (_name, knobs, refusal) => {
    await expect(signIn(await registered(), knobs)).rejects.toThrow(refusal);
  });

  it("a sign count that went backwards is refused once the stored count is above zero", async () => {
    const user = await registered();
    const stored = { ...user.stored, counter: (await signIn(user, { counter: 5 })).authenticationInfo.newCounter };
    await expect(signIn({ ...user, stored }, { counter: 4 })).rejects.toThrow("Response counter value 4 was lower than expected 5");
  });

  it("a signature by another user's credential does not verify against this user's key", async () => {
    const ada = await registered("ada@acme.test");
    const mallory = await registered("mallory@acme.test");
    const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: ada.stored.id }], userVerification: "required" });
    const response = await ada.authenticator.authenticate(options, { credential: mallory.authenticator.credentials[0]! });
    // The response names Mallory's credential and carries her user handle; the library does not
    // compare the response's id with the stored credential's: finding the credential by id and
    // checking its owner is the relying party's job. Checked against Ada's key, it does not verify.
    expect(credentialIdOf(response)).toBe(mallory.stored.id);
    expect(response.response.userHandle).toBe(mallory.options.user.id);
    expect((await verifyAuthentication(response, options, ada.stored)).verified).toBe(false);
  });
});

describe("malformed responses make the library throw rather than verify", () => {
  // Text that is not base64url is decoded leniently by the library (to garbage): it fails as JSON.
  const variants: [Malformation, RegExp][] = [
    ["truncated-authenticator-data", /Authenticator data was 36 bytes/],
    ["invalid-cbor", /not supported or well formed/],
    ["not-base64url", /not valid JSON/],
    ["client-data-not-json", /JSON/],
  ];

  it.each(variants)("a registration with %s is refused", async (how, reason) => {
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });
    const options = await registrationOptions("ada@acme.test");
    await expect(verifyRegistration(malformed(await authenticator.register(options), how), options)).rejects.toThrow(reason);
  });

  it.each(variants)("a sign-in with %s is refused", async (how, reason) => {
    const user = await registered();
    const options = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: user.stored.id }], userVerification: "required" });
    await expect(verifyAuthentication(malformed(await user.authenticator.authenticate(options), how), options, user.stored)).rejects.toThrow(reason);
  });
});
