// Revoking the session you are using signs this browser out at once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, launch, newPage, shot, signIn, stepUp, waitForFocus } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("revoke the current session: confirm, step-up, land on sign-in", async () => {
  const { page, problems, context } = await newPage(browser, { userAgent: UA.windows });
  await signIn(page, USERS.bob);
  const current = page.locator("li.session", { hasText: "This device" });
  const revoke = current.getByRole("button", { name: /Revoke/ });
  await revoke.waitFor();

  // Keyboard only: Tab to the button, Enter opens the dialog, Escape closes it and
  // focus goes back to the button.
  let reached = false;
  for (let i = 0; i < 25 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await revoke.evaluate((el) => el === document.activeElement);
  }
  assert.ok(reached, "the Revoke button is reachable with Tab");
  await page.keyboard.press("Enter");
  const confirm = page.getByRole("dialog", { name: "Sign out this device?" });
  await confirm.waitFor();
  await page.keyboard.press("Escape");
  await confirm.waitFor({ state: "detached" });
  await waitForFocus(revoke, "focus returns to Revoke");

  await page.keyboard.press("Enter");
  await confirm.waitFor();
  await shot(page, "revoke-current-confirm", { fullPage: false });
  await confirm.getByRole("button", { name: "Revoke and sign out" }).click();
  await stepUp(page, USERS.bob);
  await page.waitForURL(/\/sign-in/);
  await page.getByText("Your session was revoked").waitFor();

  // The cookie is gone server-side too: the API refuses this browser now.
  const status = await page.evaluate(async (url) => (await fetch(url)).status, panel("/api/me"));
  assert.equal(status, 401);
  assertClean(problems);
  await context.close();
});
