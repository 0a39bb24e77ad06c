// Sign-in: wrong password, the TOTP step, and unauthenticated access.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, launch, newPage, shot, waitForFocus } from "../lib/browser.mjs";
import { freshTotp, panel, PASSWORD, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("a signed-out visitor is sent to sign-in, and comes back after the TOTP step", async () => {
  const { page, problems, context } = await newPage(browser);
  await page.goto(panel("/security/sessions"));
  await page.waitForURL(/\/sign-in\?next=%2Fsecurity%2Fsessions/);
  await shot(page, "sign-in");

  await page.getByLabel("Email address").fill(USERS.alice.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Incorrect email or password" }).waitFor();
  await shot(page, "sign-in-error");

  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const code = page.getByLabel("Authentication code");
  await waitForFocus(code, "the code field takes focus");
  await shot(page, "sign-in-totp");

  await code.fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("alert").filter({ hasText: /not valid|incorrect/i }).waitFor();

  await code.fill(await freshTotp(USERS.alice.totp));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL("**/security/sessions");
  await page.getByText("This device").waitFor();
  assertClean(problems);
  await context.close();
});

test("the sign-in page works with the keyboard alone at 375 px", async () => {
  const { page, problems, context } = await newPage(browser, { width: 375, height: 740 });
  await page.goto(panel("/sign-in"));
  // Email takes focus on load (after the first render); type, Tab to the password, Enter submits.
  await waitForFocus(page.getByLabel("Email address"), "the email field takes focus on load");
  await page.keyboard.type(USERS.bob.email);
  await page.keyboard.press("Tab");
  await waitForFocus(page.getByLabel("Password"), "Tab moves to the password");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.waitForURL("**/security/sessions");
  await page.getByText("This device").waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal scrolling at 375 px (page is ${width} px wide)`);
  await shot(page, "sessions-375px");
  assertClean(problems);
  await context.close();
});

test("the panel's CSP is live: an injected inline script is refused and reported", async () => {
  const { page, problems, context } = await newPage(browser);
  const res = await page.goto(panel("/sign-in"));
  const csp = res?.headers()["content-security-policy"] ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res?.headers()["x-frame-options"], "DENY");
  await page.getByLabel("Email address").waitFor();
  // Settles either way (a timeout too): the assertion below says what went wrong.
  const logged = page.waitForEvent("console", (msg) => /Content Security Policy|Refused to execute/i.test(msg.text())).catch((err) => err);
  const ran = await page.evaluate(async () => {
    const refused = new Promise((r) => document.addEventListener("securitypolicyviolation", r, { once: true }));
    const s = document.createElement("script");
    s.textContent = "window.__injected = true";
    document.body.append(s);
    // An inline script that is allowed runs as it is inserted; a refused one is reported.
    if ("__injected" in window) return true;
    await refused;
    return "__injected" in window;
  });
  assert.equal(ran, false, "inline script must not run");
  // Proves the CSP detector every other scenario relies on can fire.
  await logged;
  assert.ok(problems.some((p) => p.startsWith("CSP:")), "the violation reached the console");
  await context.close();
});
