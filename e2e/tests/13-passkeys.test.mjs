// Passkeys, with a CDP virtual authenticator: a member adds one, signs in with it (after
// the password, and alone), renames and removes it; an admin steps up with one to sign a
// member out everywhere. Bob ends without a second factor, as he started.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, gotoNav, launch, memberAction, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { PASSWORD, panel, usersOf } from "../lib/env.mjs";
import { addVirtualAuthenticator, stepUpWithPasskey, withoutPasskeyAutofill } from "../lib/webauthn.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Adds a passkey named `name` from the two-factor page; the step-up modal is answered by `verify`. */
async function addPasskey(page, name, verify) {
  await gotoNav(page, "Two-factor");
  await page.getByLabel("Passkey name (optional)").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await verify();
}

const passkeyRow = (page, name) => page.getByRole("list", { name: "Your passkeys" }).getByRole("listitem").filter({ hasText: name });

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.getByText("You signed out.").waitFor();
}

test("a member adds a passkey, signs in with it after the password and alone, renames and removes it", async () => {
  const { page, problems, context } = await newPage(browser);
  const authenticator = await addVirtualAuthenticator(context, page);
  await signIn(page, USERS.bob);

  // A first factor: the password proves it's him, and recovery codes come with it.
  await addPasskey(page, "Laptop", () => stepUp(page, USERS.bob));
  const codes = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  await page.getByRole("button", { name: "I have saved my codes" }).click();
  const row = passkeyRow(page, "Laptop");
  await row.getByText("This device only").waitFor();
  await row.getByText("never used").waitFor();
  assert.equal((await authenticator.credentials()).length, 1, "the authenticator holds the new passkey");
  await shot(page, "two-factor-passkeys");

  // The password alone no longer signs him in: the passkey (or a recovery code) must follow.
  await withoutPasskeyAutofill(page);
  await signOut(page);
  await page.getByLabel("Email address").fill(USERS.bob.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("Your account's second factor is a passkey").waitFor();
  await shot(page, "sign-in-passkey-second-step");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.getByText("This device").waitFor();

  // The passkey alone: it says whose it is, and counts as both factors.
  await signOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.getByText("This device").waitFor();

  // Offered in the email field's autofill (the virtual authenticator picks it at once).
  await signOut(page);
  assert.equal(await page.getByLabel("Email address").getAttribute("autocomplete"), "username webauthn");
  // Loaded again, the page has the browser's autofill back.
  const viaAutofill = page.waitForResponse((r) => new URL(r.url()).pathname === panel("/api/auth/passkey") && r.ok());
  await page.reload();
  await viaAutofill;
  await page.getByText("This device").waitFor();

  await gotoNav(page, "Two-factor");
  await row.getByText(/last used/).waitFor();
  await row.getByRole("button", { name: "Rename Laptop" }).click();
  const rename = page.getByRole("dialog", { name: "Rename passkey" });
  await rename.getByLabel("Name").fill("Work laptop");
  await rename.getByRole("button", { name: "Save" }).click();
  await rename.waitFor({ state: "detached" });
  const renamed = passkeyRow(page, "Work laptop");
  await renamed.waitFor();

  // Removing it is a change of factors: confirmed, then verified with the passkey itself.
  await renamed.getByRole("button", { name: "Remove Work laptop" }).click();
  await page.getByRole("dialog", { name: 'Remove "Work laptop"?' }).getByRole("button", { name: "Remove passkey" }).click();
  await stepUpWithPasskey(page);
  await page.getByText("No passkeys yet.").waitFor();
  assertClean(problems);
  await context.close();
});

test("an admin signs a member out everywhere, verifying with a passkey", async () => {
  const member = await newPage(browser, { userAgent: UA.iphone, width: 390, height: 844 });
  const admin = await newPage(browser);
  await addVirtualAuthenticator(admin.context, admin.page);
  await signIn(member.page, USERS.bob);
  await signIn(admin.page, USERS.dave);
  // Beside his authenticator app: the app's code proves it's him.
  await addPasskey(admin.page, "Dave's laptop", () => stepUp(admin.page, USERS.dave));
  await passkeyRow(admin.page, "Dave's laptop").waitFor();

  await gotoNav(admin.page, "Team");
  await memberAction(admin.page, USERS.bob, "Force logout…");
  await admin.page.getByRole("dialog", { name: `Sign ${USERS.bob.name} out everywhere?` }).getByRole("button", { name: "Force logout" }).click();
  // The passkey is offered first.
  const modal = admin.page.getByRole("dialog", { name: "Confirm it's you" });
  await modal.waitFor();
  assert.equal(await modal.getByRole("radio", { name: "Passkey" }).isChecked(), true);
  await shot(admin.page, "step-up-passkey", { fullPage: false });
  await stepUpWithPasskey(admin.page);
  await admin.page.getByText(new RegExp(`Signed ${USERS.bob.name} out of [1-9]\\d* session`)).waitFor();

  await member.page.getByRole("link", { name: "Two-factor" }).click();
  await member.page.getByText("You were signed out everywhere by an administrator").waitFor();
  assertClean(member.problems);
  assertClean(admin.problems);
  await member.context.close();
  await admin.context.close();
});

test("with two-factor required, a member without a second factor adds a passkey and the panel opens up", async () => {
  const owner = await newPage(browser);
  const member = await newPage(browser);
  await addVirtualAuthenticator(member.context, member.page);
  await signIn(owner.page, USERS.alice);
  await gotoNav(owner.page, "Team");
  await owner.page.getByLabel("Require two-factor authentication for everyone").click();
  await owner.page.getByRole("dialog", { name: "Require two-factor for everyone?" }).getByRole("button", { name: "Require two-factor" }).click();
  await stepUp(owner.page, USERS.alice);
  await owner.page.getByText("Two-factor is now required.").waitFor();

  await member.page.goto(panel("/sign-in"));
  await member.page.getByLabel("Email address").fill(USERS.bob.email);
  await member.page.getByLabel("Password").fill(PASSWORD);
  await member.page.getByRole("button", { name: "Sign in", exact: true }).click();
  await member.page.waitForURL("**/security/two-factor");
  const sessionsLink = member.page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Active sessions" });
  await member.page.getByText("No passkeys yet.").waitFor();
  assert.equal(await sessionsLink.count(), 0, "enrolment first");
  assert.deepEqual(await member.page.getByRole("alert").allInnerTexts(), [], "the enrolment page asks the API only what it allows");

  await member.page.getByLabel("Passkey name (optional)").fill("Phone");
  await member.page.getByRole("button", { name: "Add a passkey" }).click();
  await stepUp(member.page, USERS.bob);
  await member.page.getByRole("button", { name: "I have saved my codes" }).click();
  await passkeyRow(member.page, "Phone").waitFor();
  await sessionsLink.waitFor();
  assertClean(owner.problems);
  assertClean(member.problems);
  await owner.context.close();
  await member.context.close();
});
