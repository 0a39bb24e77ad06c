// The member lifecycle from the Team page: disabling a member sends their open browser to
// sign-in (and sign-in says why); re-enabled, they sign in again. The owner's policy:
// with two-factor required, a member without TOTP lands on enrolment and cannot leave it.
// Both scenarios leave Bob enabled and the policy off, as they found them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, memberAction, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { PASSWORD, usersOf, panel } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const row = (page, user) => page.locator("li.member", { hasText: user.email });

/** Waits for the box to show the saved policy (it re-reads it after the change). */
async function waitChecked(locator, checked) {
  const box = await locator.elementHandle();
  await locator.page().waitForFunction(([el, want]) => el.checked === want, [box, checked]);
  await box.dispose();
}

async function signInByHand(page, user) {
  await page.goto(panel("/sign-in"));
  await page.getByLabel("Email address").fill(user.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("disabling a member sends their open browser to sign-in; enabled again, they sign in", async () => {
  const member = await newPage(browser);
  const admin = await newPage(browser);
  await signIn(member.page, USERS.bob);
  await signIn(admin.page, USERS.dave);

  await gotoNav(admin.page, "Team");
  await memberAction(admin.page, USERS.bob, "Disable…");
  await admin.page.getByRole("dialog", { name: `Disable ${USERS.bob.name}?` }).getByRole("button", { name: "Disable" }).click();
  await stepUp(admin.page, USERS.dave);
  await row(admin.page, USERS.bob).getByText("Disabled", { exact: true }).waitFor();
  await shot(admin.page, "team-member-disabled");

  // The member's next request: back to sign-in, told why.
  await member.page.getByRole("link", { name: "Two-factor" }).click();
  await member.page.waitForURL(/\/sign-in/);
  await member.page.getByText("You were signed out everywhere by an administrator").waitFor();
  await signInByHand(member.page, USERS.bob);
  await member.page.getByText("Your account has been disabled").waitFor();
  await shot(member.page, "sign-in-disabled");

  await memberAction(admin.page, USERS.bob, "Enable…");
  await admin.page.getByRole("dialog", { name: `Enable ${USERS.bob.name}?` }).getByRole("button", { name: "Enable" }).click();
  await stepUp(admin.page, USERS.dave);
  await row(admin.page, USERS.bob).getByText("Disabled", { exact: true }).waitFor({ state: "detached" });
  await signIn(member.page, USERS.bob);

  assertClean(member.problems);
  assertClean(admin.problems);
  await member.context.close();
  await admin.context.close();
});

test("with two-factor required, a member without TOTP is sent to enrolment and cannot leave it", async () => {
  const owner = await newPage(browser);
  const member = await newPage(browser);
  await signIn(owner.page, USERS.alice);
  await gotoNav(owner.page, "Team");
  const policy = owner.page.getByLabel("Require two-factor authentication for everyone");
  await policy.click(); // a confirmation first: the box keeps the saved value until then
  await owner.page.getByRole("dialog", { name: "Require two-factor for everyone?" }).getByRole("button", { name: "Require two-factor" }).click();
  await stepUp(owner.page, USERS.alice);
  await owner.page.getByText("Two-factor is now required.").waitFor();
  await waitChecked(policy, true);
  await shot(owner.page, "team-policy");

  await signInByHand(member.page, USERS.bob);
  await member.page.waitForURL("**/security/two-factor");
  await member.page.getByRole("button", { name: "Set up" }).waitFor();
  const nav = member.page.getByRole("navigation", { name: "Settings" });
  assert.equal(await nav.getByRole("link", { name: "Active sessions" }).count(), 0, "no way out through the menu");
  await shot(member.page, "two-factor-required");
  // Nor through the address bar.
  await member.page.goto(panel("/security/sessions"));
  await member.page.waitForURL("**/security/two-factor");
  await member.page.getByRole("button", { name: "Set up" }).waitFor();

  await policy.click();
  await owner.page.getByRole("dialog", { name: "Stop requiring two-factor?" }).getByRole("button", { name: "Stop requiring" }).click();
  await stepUp(owner.page, USERS.alice);
  await owner.page.getByText("Two-factor is no longer required.").waitFor();
  await waitChecked(policy, false);

  assertClean(owner.problems);
  assertClean(member.problems);
  await owner.context.close();
  await member.context.close();
});
