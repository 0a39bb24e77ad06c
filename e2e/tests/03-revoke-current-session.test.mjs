// Revoking the session you are using signs this browser out at once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, launch, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { USERS } from "../lib/env.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("revoke the current session: confirm, step-up, land on sign-in", async () => {
  const { page, problems, context } = await newPage(browser, { userAgent: UA.windows });
  await signIn(page, USERS.bob);
  const current = page.locator("li.session", { hasText: "This device" });
  await current.getByRole("button", { name: /Revoke/ }).click();
  const confirm = page.getByRole("dialog", { name: "Sign out this device?" });
  await confirm.waitFor();
  await shot(page, "revoke-current-confirm", { fullPage: false });
  await confirm.getByRole("button", { name: "Revoke and sign out" }).click();
  await stepUp(page, USERS.bob);
  await page.waitForURL(/\/sign-in/);
  await page.getByText("Your session was revoked").waitFor();

  // The cookie is gone server-side too: the API refuses this browser now.
  const status = await page.evaluate(async () => (await fetch("/api/me")).status);
  assert.equal(status, 401);
  assertClean(problems);
  await context.close();
});
