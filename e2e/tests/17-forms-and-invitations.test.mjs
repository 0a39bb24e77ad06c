// The pages a newcomer meets: forms that say what is wrong in words, on the field it
// concerns (never the validator's text); an invitation that says whom it is for, and a
// dead one that says so on opening; the product's own name and mark; a breached password
// refused (Have I Been Pwned, stood in for by e2e/lib/pwned-fixture.mjs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot, signIn } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";
import { BREACHED_PASSWORDS } from "../lib/pwned-fixture.mjs";

const USERS = usersOf(import.meta.url);
const GOOD_PASSWORD = "amber lighthouse over quiet water";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** No validator text anywhere on the page: "Invalid json", "Too small", "expected string". */
async function assertNoValidatorText(page) {
  const text = await page.locator("body").innerText();
  assert.doesNotMatch(text, /Invalid (json|query|param)|Too small|Too big|expected string|Invalid email address/, "validator text shown");
}

/** As an admin, invites `email` from the Team page and returns the link. */
async function inviteFrom(page, email) {
  await gotoNav(page, "Team");
  const invitations = page.locator("section", { has: page.getByRole("heading", { name: /Invitations/ }) });
  await invitations.getByLabel("Email address").fill(email);
  await invitations.getByRole("button", { name: "Invite" }).click();
  const field = invitations.getByLabel("Invitation link");
  await field.waitFor();
  const link = await field.inputValue();
  await invitations.getByRole("button", { name: "Done" }).click();
  return link;
}

test("an empty sign-in says what each field needs, in words, on the field, and names the product", async () => {
  const { page, problems, context } = await newPage(browser);
  await page.goto(panel("/sign-in"));
  await page.getByRole("heading", { level: 1, name: "Sign in to Acme Notes" }).waitFor();
  assert.equal(await page.locator(".signin-brand img").getAttribute("src"), "/logo.svg");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const email = page.getByLabel("Email address");
  await page.getByText("Enter your email address.").waitFor();
  await page.getByText("Enter your password.").waitFor();
  assert.equal(await email.getAttribute("aria-invalid"), "true");
  assert.match((await email.getAttribute("aria-describedby")) ?? "", /signin-email-error/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "signin-email", "focus on the first field with a problem");
  await assertNoValidatorText(page);
  await shot(page, "sign-in-empty");

  await email.fill("not-an-address");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("Enter an email address like name@example.com.").waitFor();
  await assertNoValidatorText(page);

  // Forgot password: words for the person, not the system.
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByText("Enter your email address.").waitFor();
  await page.getByLabel("Email address").fill(USERS.bob.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByText("We can't email you a reset link").waitFor();
  assert.doesNotMatch(await page.locator("body").innerText(), /This Gatehouse/);
  await shot(page, "forgot-password-answer");
  assertClean(problems);
  await context.close();
});

test("an invitation says whom it is for when opened; a breached password is refused on its field; a revoked or used link says so at once", async () => {
  const admin = await newPage(browser);
  await signIn(admin.page, USERS.dave);
  const link = await inviteFrom(admin.page, `joiner-${Date.now()}@acme.test`);
  const revokedEmail = `withdrawn-${Date.now()}@acme.test`;
  const revokedLink = await inviteFrom(admin.page, revokedEmail);
  const row = admin.page.locator("li.invitation", { hasText: revokedEmail });
  await row.getByRole("button", { name: "Revoke" }).click();
  await admin.page.getByRole("dialog", { name: `Revoke the invitation for ${revokedEmail}?` }).getByRole("button", { name: "Revoke" }).click();
  await row.waitFor({ state: "detached" });

  const invitee = await newPage(browser);
  await invitee.page.goto(link);
  await invitee.page.getByRole("heading", { level: 1, name: "Join Acme" }).waitFor();
  await invitee.page.getByText(`${USERS.dave.name} invited you to join Acme on Acme Notes as a member.`).waitFor();
  const facts = await invitee.page.locator(".invitation-facts").innerText();
  assert.match(facts, /joiner-\d+@acme\.test/);
  assert.match(facts, new RegExp(USERS.dave.name));
  await invitee.page.getByRole("button", { name: "Join and sign in" }).click();
  await invitee.page.getByText("Enter your name as your colleagues should see it.").waitFor();
  await invitee.page.getByText("Choose a password.").waitFor();
  await invitee.page.getByLabel("Your name").fill("Jo Joiner");
  await invitee.page.getByLabel("Choose a password").fill(BREACHED_PASSWORDS[0]);
  await invitee.page.getByRole("button", { name: "Join and sign in" }).click();
  await invitee.page.getByText("This password has appeared in a data breach").waitFor();
  assert.equal(await invitee.page.getByLabel("Choose a password").getAttribute("aria-invalid"), "true");
  await assertNoValidatorText(invitee.page);
  await shot(invitee.page, "invitation-breached-password");
  await invitee.page.getByLabel("Choose a password").fill(GOOD_PASSWORD);
  await invitee.page.getByRole("button", { name: "Join and sign in" }).click();
  await invitee.page.waitForURL("**/security/sessions");

  const revoked = await newPage(browser);
  await revoked.page.goto(revokedLink);
  await revoked.page.getByText("This invitation was withdrawn").waitFor();
  assert.equal(await revoked.page.getByLabel("Your name").count(), 0, "no form for a withdrawn link");
  assert.doesNotMatch(await revoked.page.locator("body").innerText(), new RegExp(revokedEmail), "a dead link does not say whom it was for");
  await shot(revoked.page, "invitation-revoked");

  const used = await newPage(browser);
  await used.page.goto(link);
  await used.page.getByText("This invitation was already used").waitFor();

  for (const p of [admin, invitee, revoked, used]) {
    assertClean(p.problems);
    await p.context.close();
  }
});

test("the panel names the product and the organisation, and links back to the product", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  const bar = page.locator("header.topbar");
  await bar.getByText("Acme Notes", { exact: true }).waitFor();
  await bar.getByText("Acme", { exact: true }).waitFor();
  assert.equal(await bar.getByRole("link", { name: "Back to Acme Notes" }).getAttribute("href"), "/");
  assert.match(await page.title(), /· Acme Notes$/);
  // The operator's accent colour reaches the panel (links, focus rings).
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()), "#6d28d9");
  assertClean(problems);
  await context.close();
});
