// The organization's passkey policy: the owner requires passkeys of owners and admins; an
// admin without one is sent to add one (his authenticator app proves it's him), and from
// then on his admin actions take the passkey and refuse his app's code.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as OTPAuth from "otpauth";
import { auditRows } from "../lib/audit.mjs";
import { UA, assertClean, gotoNav, launch, memberAction, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";
import { addVirtualAuthenticator, stepUpWithPasskey } from "../lib/webauthn.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

async function forceLogout(page, member) {
  await gotoNav(page, "Team");
  await memberAction(page, member, "Force logout…");
  await page.getByRole("dialog", { name: `Sign ${member.name} out everywhere?` }).getByRole("button", { name: "Force logout" }).click();
}

/** A step-up answered with a code, sent from the page as the panel would: status and error code. */
function verifyWithCode(page, purpose, code) {
  return page.evaluate(
    async ({ url, body }) => {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, error: (await res.json()).error };
    },
    { url: panel("/api/security/stepup/verify"), body: { purpose, code } },
  );
}

test("the admins policy refuses an admin's authenticator code and accepts his passkey", async () => {
  const owner = await newPage(browser);
  const admin = await newPage(browser);
  const member = await newPage(browser, { userAgent: UA.iphone, width: 390, height: 844 });
  await addVirtualAuthenticator(admin.context, admin.page);
  await signIn(owner.page, USERS.alice);
  await signIn(admin.page, USERS.dave);
  await signIn(member.page, USERS.bob);

  await gotoNav(owner.page, "Team");
  const policy = owner.page.getByRole("group", { name: "Require passkeys" });
  // Clicked, not checked: the saved value stays selected until the change is confirmed.
  await policy.getByRole("radio", { name: "Owners and admins" }).click();
  await owner.page.getByRole("dialog", { name: "Passkeys required: owners and admins?" }).getByRole("button", { name: "Change policy" }).click();
  await stepUp(owner.page, USERS.alice);
  await owner.page.getByText("The passkey policy was changed.").waitFor();
  assert.equal(await policy.getByRole("radio", { name: "Owners and admins" }).isChecked(), true);
  await shot(owner.page, "team-passkey-policy");

  // Without a passkey, an admin action cannot be confirmed at all: add one first.
  await forceLogout(admin.page, USERS.bob);
  const enrol = admin.page.getByRole("dialog", { name: "Add a passkey first" });
  await enrol.getByText("Your organization requires a passkey to sign a member out everywhere").waitFor();
  await enrol.getByRole("link", { name: "Add a passkey" }).click();
  await admin.page.waitForURL(/\/security\/two-factor\?need=passkey$/);
  await admin.page.getByText("Your organization requires a passkey for that action").waitFor();
  await admin.page.getByLabel("Passkey name (optional)").fill("Dave's laptop");
  await admin.page.getByRole("button", { name: "Add a passkey" }).click();
  // Until he has a passkey, his authenticator app proves it's him.
  await stepUp(admin.page, USERS.dave);
  await admin.page.getByRole("list", { name: "Your passkeys" }).getByText("Dave's laptop").waitFor();

  // The app's current code, right as it is, is refused for an admin action (before it is checked: not used up).
  const now = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(USERS.dave.totp) }).generate();
  assert.deepEqual(await verifyWithCode(admin.page, "FORCE_LOGOUT", now), { status: 403, error: "PHISHING_RESISTANT_REQUIRED" });

  // The dialog offers the passkey alone, says why, and the passkey is accepted.
  await forceLogout(admin.page, USERS.bob);
  const modal = admin.page.getByRole("dialog", { name: "Confirm it's you" });
  await modal.getByText("Your organization requires a passkey for this.").waitFor();
  assert.equal(await modal.getByRole("radio").count(), 0, "no other method is offered");
  await shot(admin.page, "step-up-passkey-required", { fullPage: false });
  await stepUpWithPasskey(admin.page);
  await admin.page.getByText(new RegExp(`Signed ${USERS.bob.name} out of [1-9]\\d* session`)).waitFor();

  // The refused code is on the record.
  const refused = await auditRows(admin.page, { action: "STEP_UP_VERIFIED", outcome: "FAIL" });
  assert.ok(refused.length >= 1, "the refused step-up is audited as FAIL");

  for (const p of [owner, admin, member]) {
    assertClean(p.problems);
    await p.context.close();
  }
});
