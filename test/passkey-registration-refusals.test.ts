// A registration answer that is not what this relying party asked for: refused with the rule
// it broke (400, never 500), audited as a FAIL row of PASSKEY_ADDED, and nothing stored.
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import { Harness, seedTenant } from "./helpers";
import { auditRowsOf, finishRegistration, newAuthenticator, registrationOptions, storedPasskeys } from "./passkey-fixtures";
import { type Malformation, malformed } from "./webauthn/malformed";
import type { RegisterKnobs } from "./webauthn/soft-authenticator";

/** A member's registration answered with `knobs` (and `corrupt` applied), sent by the session that asked for it. */
async function refusedRegistration(knobs: RegisterKnobs, corrupt: (r: RegistrationResponseJSON) => RegistrationResponseJSON = (r) => r) {
  const h = new Harness();
  const t = await seedTenant("pkx");
  const { cookie } = await h.session(t.member);
  const response = corrupt(await newAuthenticator().register(await registrationOptions(h, t.member, cookie), knobs));
  const res = await finishRegistration(h, cookie, response);
  const body = res.body as unknown as { error: string };
  return { status: res.status, error: body.error, stored: await storedPasskeys(t.member.id), rows: await auditRowsOf(t.id, "PASSKEY_ADDED"), t };
}

/** The refusal is `code` (400), one FAIL row names it, and the member has no passkey. */
function expectRefused(refused: Awaited<ReturnType<typeof refusedRegistration>>, code: string) {
  expect([refused.status, refused.error]).toEqual([400, code]);
  expect(refused.rows.map((r) => [r.outcome, r.failure_reason, r.actor_user_id])).toEqual([["FAIL", code, refused.t.member.id]]);
  expect(refused.stored).toEqual({ rows: [], count: 0 });
}

const mangled = (how: Malformation) => (r: RegistrationResponseJSON) => malformed(r, how);

describe("a registration answer", () => {
  it("made on another origin is refused with PASSKEY_ORIGIN_MISMATCH, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({ origin: "https://gatehouse.test.evil.example" }), "PASSKEY_ORIGIN_MISMATCH");
  });

  it("made for another RP ID is refused with PASSKEY_RP_ID_MISMATCH, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({ rpId: "evil.example" }), "PASSKEY_RP_ID_MISMATCH");
  });

  it("without user verification is refused with PASSKEY_USER_NOT_VERIFIED, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({ userVerified: false }), "PASSKEY_USER_NOT_VERIFIED");
  });

  it("of the sign-in ceremony's type (webauthn.get) is refused as malformed, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({ type: "webauthn.get" }), "PASSKEY_RESPONSE_MALFORMED");
  });

  it("whose attestation object is not CBOR is 400 PASSKEY_RESPONSE_MALFORMED, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({}, mangled("invalid-cbor")), "PASSKEY_RESPONSE_MALFORMED");
  });

  it("whose authenticator data is cut short is 400 PASSKEY_RESPONSE_MALFORMED, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({}, mangled("truncated-authenticator-data")), "PASSKEY_RESPONSE_MALFORMED");
  });

  it("whose clientDataJSON is not JSON is 400 PASSKEY_RESPONSE_MALFORMED, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({}, mangled("client-data-not-json")), "PASSKEY_RESPONSE_MALFORMED");
  });

  it("whose clientDataJSON is not base64url is 400 VALIDATION_FAILED, audited, and nothing is stored", async () => {
    expectRefused(await refusedRegistration({}, mangled("not-base64url")), "VALIDATION_FAILED");
  });

  it("that is not JSON at all is 400 MALFORMED_JSON, audited, and nothing is stored", async () => {
    const h = new Harness();
    const t = await seedTenant("pkx");
    const { cookie } = await h.session(t.member);
    await registrationOptions(h, t.member, cookie);
    const res = await h.call("/api/security/mfa/passkeys", { cookie, rawBody: '{"response": {"id": ', headers: { "content-type": "application/json" } });
    expect([res.status, res.body.error]).toEqual([400, "MALFORMED_JSON"]);
    expect((await auditRowsOf(t.id, "PASSKEY_ADDED")).map((r) => [r.outcome, r.failure_reason])).toEqual([["FAIL", "MALFORMED_JSON"]]);
    expect((await storedPasskeys(t.member.id)).count).toBe(0);
  });
});
