// Two-factor: enrol (after re-entering the password) with QR and manual key, recovery
// codes once, regenerate, and disable with a recovery code as the step-up. Bob ends
// without two-factor again, as he started.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, downloadedText, gotoNav, launch, newPage, shot, signIn } from "../lib/browser.mjs";
import { PASSWORD, usersOf, freshTotp } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("enrol TOTP, save recovery codes, regenerate them, disable with a recovery code", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await gotoNav(page, "Two-factor");
  await page.getByText("Not enabled").waitFor();
  await page.getByRole("button", { name: "Set up" }).click();
  // A first factor needs a fresh password proof: a stolen session alone cannot add one.
  const enrolProof = page.getByRole("dialog", { name: "Confirm it's you" });
  await enrolProof.getByText("To set up two-factor authentication").waitFor();
  await enrolProof.getByLabel("Account password").fill(PASSWORD);
  await enrolProof.getByRole("button", { name: "Verify" }).click();
  await enrolProof.waitFor({ state: "detached" });

  const qr = page.getByRole("img", { name: "QR code for your authenticator app" });
  await qr.waitFor();
  assert.ok((await qr.evaluate((img) => img.naturalWidth)) > 0, "the QR code renders under the CSP");
  const secret = (await page.getByLabel("Setup key").innerText()).replace(/\s+/g, "");
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  await shot(page, "two-factor-enrol");

  // Codes of the new authenticator come from the shared helper, which remembers the steps used.
  await page.getByLabel("Enter the 6-digit code from the app").fill(await freshTotp(secret));
  await page.getByRole("button", { name: "Turn on two-factor" }).click();
  const codes = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  const first = await codes.allInnerTexts();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download" }).click()]);
  assert.ok((await downloadedText(download)).includes(first[0]));
  await shot(page, "two-factor-recovery-codes");
  await page.getByRole("button", { name: "I have saved my codes" }).click();
  await page.getByText("Enabled", { exact: true }).waitFor();
  await shot(page, "two-factor");

  // Regenerate: step-up with the new authenticator's next code.
  await page.getByRole("button", { name: "Generate new codes" }).click();
  await page.getByRole("dialog", { name: "Generate new recovery codes?" }).getByRole("button", { name: "Generate new codes" }).click();
  const modal = page.getByRole("dialog", { name: "Confirm it's you" });
  await modal.getByLabel("Authentication code").fill(await freshTotp(secret));
  await modal.getByRole("button", { name: "Verify" }).click();
  await codes.first().waitFor();
  const second = await codes.allInnerTexts();
  assert.equal(second.length, 10);
  assert.notDeepEqual(second, first, "new codes replace the old ones");
  await page.getByRole("button", { name: "I have saved my codes" }).click();

  // A recovery code signs in when the phone is not at hand, once.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email address").fill(USERS.bob.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(second[1]);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL("**/security/sessions");
  await gotoNav(page, "Two-factor");
  await page.getByText("Enabled", { exact: true }).waitFor();

  // Disable, verifying with one of the new recovery codes this time.
  await page.getByRole("button", { name: "Disable" }).click();
  await page.getByRole("dialog", { name: /Disable two-factor/ }).getByRole("button", { name: "Disable two-factor" }).click();
  await modal.getByRole("radio", { name: "Recovery code" }).check();
  await modal.getByLabel("One of your recovery codes").fill(second[0]);
  await modal.getByRole("button", { name: "Verify" }).click();
  await page.getByText("Not enabled").waitFor();
  assertClean(problems);
  await context.close();
});
