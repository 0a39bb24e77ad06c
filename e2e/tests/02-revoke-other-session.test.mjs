// Seed 1.5 + 2.4: revoking another session needs step-up; the modal verifies and the
// revoke replays by itself; only the revoked browser dies, on its next API call.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, gotoNav, launch, newPage, shot, signIn, stepUp, waitForFocus } from "../lib/browser.mjs";
import { panel, PASSWORD, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("revoke another session: step-up modal, automatic retry, only that context is signed out", async () => {
  const a = await newPage(browser, { userAgent: UA.mac });
  const b = await newPage(browser, { userAgent: UA.iphone, width: 390, height: 844 });
  await signIn(b.page, USERS.bob);
  await signIn(a.page, USERS.bob);

  // A member sees only their own security pages.
  const nav = a.page.getByRole("navigation", { name: "Settings" });
  assert.deepEqual(await nav.getByRole("link").allInnerTexts(), ["Active sessions", "Two-factor", "Your account"]);

  const bSessionId = await b.page.evaluate(async (url) => (await (await fetch(url)).json()).sessionId, panel("/api/me"));
  const other = a.page.locator(`li.session[data-session-id="${bSessionId}"]`);
  await other.waitFor();
  assert.match(await other.innerText(), /Safari on iOS/);
  assert.doesNotMatch(await other.innerText(), /This device/);
  // The device's name is said once: the lines below it add only what the name does not say (the browser's version).
  assert.equal((await other.innerText()).split("Safari on iOS").length - 1, 1, "the device's name is not repeated");
  for (const line of await other.locator(".session-meta").allInnerTexts()) assert.doesNotMatch(line, /on iOS|iOS$|· iOS/, "a line below repeats the device");
  await shot(a.page, "sessions");

  const revokeButton = other.getByRole("button", { name: /Revoke/ });
  await revokeButton.click();
  const dialog = a.page.getByRole("dialog", { name: "Confirm it's you" });
  await dialog.waitFor();
  const field = dialog.getByLabel("Account password");
  await waitForFocus(field, "focus moves into the modal");
  // Focus stays in the modal: Shift+Tab from the first control wraps to the last.
  await a.page.keyboard.press("Shift+Tab");
  assert.equal(await a.page.evaluate(() => document.activeElement?.closest("dialog") !== null), true, "focus is trapped");
  await field.focus();
  await shot(a.page, "step-up-modal", { fullPage: false });

  await field.fill("wrong-password");
  await dialog.getByRole("button", { name: "Verify" }).click();
  await dialog.getByRole("alert").waitFor();
  await dialog.getByLabel("Account password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Verify" }).click();
  await dialog.waitFor({ state: "detached" });

  // The original revoke ran again without another click: the row moved to "Ended".
  await a.page.getByRole("status").filter({ hasText: /Signed out Safari/ }).or(a.page.getByText(/Signed out Safari/)).first().waitFor();
  const ended = a.page.locator("section", { has: a.page.getByRole("heading", { name: /Ended sessions/ }) });
  await ended.locator(`li[data-session-id="${bSessionId}"]`, { hasText: "Revoked by you" }).waitFor();
  await shot(a.page, "sessions-after-revoke");
  // The README's picture (active and ended sessions); refreshed only on request so a
  // test run leaves tracked files alone.
  if (process.env.E2E_README_SCREENSHOT === "1") {
    for (const dismiss of await a.page.getByRole("button", { name: "Dismiss" }).all()) await dismiss.click();
    await a.page.screenshot({ path: new URL("../../ui/screenshot-sessions.png", import.meta.url).pathname, fullPage: true });
  }

  // B dies on its next API call and lands on sign-in with the reason.
  await b.page.getByRole("link", { name: "Two-factor" }).click();
  await b.page.waitForURL(/\/sign-in/);
  await b.page.getByText("Your session was revoked").waitFor();
  await shot(b.page, "sign-in-revoked");

  // A is unaffected.
  await a.page.getByRole("link", { name: "Two-factor" }).click();
  await a.page.getByRole("heading", { level: 1, name: "Two-factor authentication" }).waitFor();
  assert.match(a.page.url(), /\/security\/two-factor$/);
  // Sign out all others: confirm first, then a fresh step-up (that grant is single-use).
  const c = await newPage(browser, { userAgent: UA.windows });
  await signIn(c.page, USERS.bob);
  await gotoNav(a.page, "Active sessions");
  await a.page.getByRole("button", { name: "Sign out all other sessions" }).click();
  const confirm = a.page.getByRole("dialog", { name: "Sign out all other sessions?" });
  await shot(a.page, "sessions-revoke-others-confirm", { fullPage: false });
  await confirm.getByRole("button", { name: "Sign out others" }).click();
  await stepUp(a.page, USERS.bob);
  await a.page.getByText(/Signed out [1-9]\d* other sessions?\./).waitFor();
  const signedIn = a.page.locator("section", { has: a.page.getByRole("heading", { name: /Signed in/ }) });
  // The list reloads after the toast: wait for it to settle on this device alone.
  await signedIn.locator("li.session").nth(1).waitFor({ state: "detached" });
  assert.equal(await signedIn.locator("li.session").count(), 1, "only this device is left");
  await c.page.reload();
  await c.page.waitForURL(/\/sign-in/);
  await c.context.close();

  assertClean(a.problems);
  assertClean(b.problems);
  await a.context.close();
  await b.context.close();
});
