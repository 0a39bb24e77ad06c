// Gateway mode: the demo product (examples/acme-notes) behind Gatehouse. A signed-out
// visitor is sent to sign-in and back; a revoked session loses the product on its next
// page; an impersonating admin sees the member's product, with the real admin named; the
// product's sign-out button ends the session, and a plain form posted without one is sent to
// sign-in, told its action was not done.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UA, assertClean, exitImpersonation, launch, newPage, shot, signIn, startImpersonation, stepUp } from "../lib/browser.mjs";
import { usersOf, freshTotp, panel } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("a signed-out visitor of /app signs in with TOTP and lands back on /app, greeted by name", async () => {
  const { page, problems, context } = await newPage(browser);
  await page.goto("/");
  await page.getByRole("heading", { name: "Acme Notes" }).waitFor();
  await page.goto("/app?view=recent");
  await page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app?view=recent");
  await page.getByLabel("Email address").fill(USERS.dave.email);
  await page.getByLabel("Password").fill("gatehouse-demo-pass");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Authentication code").fill(await freshTotp(USERS.dave.totp));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL((url) => url.pathname === "/app" && url.search === "?view=recent");
  await page.getByRole("heading", { name: `Hello, ${USERS.dave.name}` }).waitFor();
  await shot(page, "gateway-app");
  // The product's header signs out through Gatehouse: home, and /app asks for sign-in again.
  await page.getByRole("navigation", { name: "Account" }).getByText(USERS.dave.email, { exact: false }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.goto("/app");
  await page.waitForURL((url) => url.pathname === panel("/sign-in"));
  assertClean(problems);
  await context.close();
});

test("a session revoked from another browser loses the product on its next page load", async () => {
  const product = await newPage(browser, { userAgent: UA.windows });
  const panelUser = await newPage(browser, { userAgent: UA.mac });
  await signIn(product.page, USERS.bob);
  await product.page.goto("/app");
  await product.page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  const productSession = await product.page.evaluate(async (url) => (await (await fetch(url)).json()).sessionId, panel("/api/me"));

  await signIn(panelUser.page, USERS.bob);
  const row = panelUser.page.locator(`li.session[data-session-id="${productSession}"]`);
  await row.getByRole("button", { name: /Revoke/ }).click();
  await stepUp(panelUser.page, USERS.bob);
  await panelUser.page.locator(`li[data-session-id="${productSession}"]`, { hasText: "Revoked by you" }).waitFor();

  await product.page.goto("/app");
  await product.page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app");
  await product.page.getByLabel("Email address").waitFor();
  assertClean(product.problems);
  assertClean(panelUser.problems);
  await product.context.close();
  await panelUser.context.close();
});

test("an admin impersonating a member sees the member's product, with the real admin named", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.alice);
  await startImpersonation(page, USERS.alice, USERS.bob, "Support ticket 88: notes missing");

  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  const banner = page.getByRole("alert").filter({ hasText: "is acting as" });
  assert.match(await banner.innerText(), new RegExp(`${USERS.alice.name} \\(${USERS.alice.email}\\) is acting as ${USERS.bob.name}`));
  await shot(page, "gateway-impersonation");

  // Back to the panel to end it.
  await page.goto(panel("/security/sessions"));
  await exitImpersonation(page, USERS.alice);
  assertClean(problems);
  await context.close();
});

test("the product's sign-out button ends the session and lands on the landing page", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.getByRole("heading", { name: "Acme Notes" }).waitFor();
  await page.goto("/app");
  await page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app");
  assertClean(problems);
  await context.close();
});

test("a plain form posted once the session is gone lands on sign-in, back to its page and told its action was not done", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await page.goto("/app?view=recent");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  await context.clearCookies();
  // A server-rendered form as a product would have it: a POST navigation, no script involved.
  await page.evaluate(() => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/api/notes";
    const field = document.createElement("input");
    field.name = "text";
    field.value = "written while signed out";
    form.append(field);
    document.body.append(form);
    form.submit();
  });
  await page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app?view=recent" && url.searchParams.get("notDone") === "1");
  await page.getByText("What you just sent was not done").waitFor();
  assertClean(problems);
  await context.close();
});

test("the sign-out page a product links to signs out only when its button is pressed", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await page.goto(panel("/sign-out"));
  await page.getByRole("heading", { name: "Sign out" }).waitFor();
  // Opening it changed nothing: the product still greets the member.
  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  await page.goto(panel("/sign-out"));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.goto("/app");
  await page.waitForURL((url) => url.pathname === panel("/sign-in"));
  assertClean(problems);
  await context.close();
});
