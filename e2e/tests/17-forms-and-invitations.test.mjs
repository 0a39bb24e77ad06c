// The pages a newcomer meets: forms that say what is wrong in words, on the field it
// concerns (never the validator's text); an invitation that says whom it is for, and a
// dead one that says so on opening; the product's own name and mark; a breached password
// refused (Have I Been Pwned, stood in for by e2e/lib/pwned-fixture.mjs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { PASSWORD, panel, usersOf } from "../lib/env.mjs";
import { BREACHED_PASSWORDS } from "../lib/pwned-fixture.mjs";
import { addVirtualAuthenticator } from "../lib/webauthn.mjs";

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

/** The API calls `page` makes whose method and path match: a form that checked its fields sends none. */
function requestsTo(page, method, path) {
  const seen = [];
  page.on("request", (r) => r.method() === method && path.test(new URL(r.url()).pathname) && seen.push(r.url()));
  return seen;
}

/** `message` shows under the field labelled `label`, which says it is invalid and names it. */
async function assertFieldError(page, label, message) {
  const field = page.getByLabel(label, { exact: true });
  await page.getByText(message).waitFor();
  assert.equal(await field.getAttribute("aria-invalid"), "true", `${label} is marked invalid`);
  const id = await field.getAttribute("id");
  assert.match((await field.getAttribute("aria-describedby")) ?? "", new RegExp(`${id}-error`), `${label} names its error`);
  assert.equal(await page.locator(`#${id}-error`).innerText(), message);
  await assertNoValidatorText(page);
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

test("a two-factor code that is not six digits is refused at its field and not sent; a wrong one is refused there too", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await gotoNav(page, "Two-factor");
  await page.getByRole("button", { name: "Set up" }).click();
  const proof = page.getByRole("dialog", { name: "Confirm it's you" });
  await proof.getByLabel("Account password").fill(PASSWORD);
  await proof.getByRole("button", { name: "Verify" }).click();
  await proof.waitFor({ state: "detached" });
  const label = "Enter the 6-digit code from the app";
  const sent = requestsTo(page, "POST", /\/totp\/confirm$/);
  await page.getByLabel(label).fill("12345");
  await page.getByRole("button", { name: "Turn on two-factor" }).click();
  await assertFieldError(page, label, "Enter the 6-digit code your app shows for Acme Notes.");
  assert.deepEqual(sent, [], "a code the page refused is not sent");
  await shot(page, "two-factor-code-short");
  // The API's refusal of a code lands on the same field, in words.
  await page.getByLabel(label).fill("000000");
  await page.getByRole("button", { name: "Turn on two-factor" }).click();
  await assertFieldError(page, label, "That code is not valid. Check your authenticator app and try again.");
  assertClean(problems);
  await context.close();
});

test("a passkey renamed to nothing is refused at its field and not sent", async () => {
  const { page, problems, context } = await newPage(browser);
  await addVirtualAuthenticator(context, page);
  await signIn(page, USERS.alice);
  await gotoNav(page, "Two-factor");
  await page.getByLabel("Passkey name (optional)").fill("Desk key");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await stepUp(page, USERS.alice);
  await page.getByRole("button", { name: "Rename Desk key" }).click();
  const dialog = page.getByRole("dialog", { name: "Rename passkey" });
  const sent = requestsTo(page, "PATCH", /\/passkeys\//);
  await dialog.getByLabel("Name").fill("   ");
  await dialog.getByRole("button", { name: "Save" }).click();
  await assertFieldError(page, "Name", "Enter a name, such as the device the passkey is on.");
  assert.deepEqual(sent, [], "a name the page refused is not sent");
  await shot(page, "passkey-rename-empty", { fullPage: false });
  assertClean(problems);
  await context.close();
});

test("an audit filter whose end is before its start is refused at the end field and not sent", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.dave);
  const firstPage = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith("/api/audit-logs"));
  await gotoNav(page, "Audit log");
  await firstPage;
  const sent = requestsTo(page, "GET", /\/api\/audit-logs$/);
  await page.getByLabel("From", { exact: true }).fill("2026-03-02T10:00");
  await page.getByLabel("To", { exact: true }).fill("2026-03-01T10:00");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await assertFieldError(page, "To", "Choose an end after the start.");
  assert.deepEqual(sent, [], "filters the page refused are not sent");
  await shot(page, "audit-filters-end-before-start");
  assertClean(problems);
  await context.close();
});
