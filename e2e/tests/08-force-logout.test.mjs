// Force logout: an admin signs a member out everywhere; the member's browser learns
// it on its next API call and says why.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, gotoNav, launch, memberAction, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("force logout ends every session of the member, not the admin's", async () => {
  const member = await newPage(browser, { userAgent: UA.iphone, width: 390, height: 844 });
  const admin = await newPage(browser);
  await signIn(member.page, USERS.bob);
  await signIn(admin.page, USERS.dave);

  await gotoNav(admin.page, "Team");
  await memberAction(admin.page, USERS.bob, "Force logout…");
  const confirm = admin.page.getByRole("dialog", { name: `Sign ${USERS.bob.name} out everywhere?` });
  await confirm.getByRole("button", { name: "Force logout" }).click();
  await stepUp(admin.page, USERS.dave);
  await admin.page.getByText(new RegExp(`Signed ${USERS.bob.name} out of [1-9]\\d* session`)).waitFor();
  await shot(admin.page, "team-force-logout");

  await member.page.getByRole("link", { name: "Two-factor" }).click();
  await member.page.waitForURL(/\/sign-in/);
  // Force logout answers SESSION_INVALIDATED, which the sign-in page words as such.
  await member.page.getByText("You were signed out everywhere by an administrator").waitFor();
  await shot(member.page, "sign-in-force-logout");

  // The admin sees why the member's sessions ended.
  await memberAction(admin.page, USERS.bob, "View sessions");
  await admin.page.getByRole("heading", { level: 1, name: `Sessions of ${USERS.bob.name}` }).waitFor();
  const ended = admin.page.locator("section", { has: admin.page.getByRole("heading", { name: /Ended sessions/ }) });
  await ended.getByText("Signed out everywhere by an administrator").first().waitFor();
  assert.equal(await admin.page.getByRole("button", { name: "Sign out all other sessions" }).count(), 0, "revoke-others is for one's own sessions");
  await shot(admin.page, "member-sessions");

  // Again, now that the member has no session open: the admin is told so, not "out of 0 sessions".
  await gotoNav(admin.page, "Team");
  await memberAction(admin.page, USERS.bob, "Force logout…");
  await confirm.getByRole("button", { name: "Force logout" }).click();
  const none = admin.page.getByText(`${USERS.bob.name} had no open sessions; they stay able to sign in.`);
  const proof = admin.page.getByRole("dialog", { name: "Confirm it's you" });
  await none.or(proof).first().waitFor();
  if (await proof.isVisible()) await stepUp(admin.page, USERS.dave);
  await none.waitFor();
  assert.equal(await admin.page.getByText(/out of 0 sessions/).count(), 0);

  await gotoNav(admin.page, "Active sessions");
  assert.match(admin.page.url(), /\/security\/sessions$/);
  assertClean(member.problems);
  assertClean(admin.problems);
  await member.context.close();
  await admin.context.close();
});
