// Single sign-on in the browser: an owner's break-glass password sign-in on a single
// sign-on domain, and a sign-in through the local OpenID Provider's own pages (scripts/idp.mjs).
import { shot } from "./browser.mjs";
import { freshTotp, panel, PASSWORD } from "./env.mjs";

/** The owner's break-glass way in: the sign-in page offers single sign-on for the domain, the owner asks for the password form. */
export async function ownerSignsInWithPassword(page, owner) {
  await page.goto(panel("/sign-in"));
  await page.getByLabel("Email address").fill(owner.email);
  await page.getByRole("button", { name: "Continue with single sign-on" }).waitFor();
  await page.getByRole("button", { name: "Sign in with a password instead" }).click();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Authentication code").fill(await freshTotp(owner.totp));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { level: 1, name: "Active sessions" }).waitFor();
}

/** From the sign-in page: the email, then the identity provider's own login and consent pages. */
export async function signInThroughIdp(page, account) {
  await page.getByLabel("Email address").fill(account.email);
  await page.getByRole("button", { name: "Continue with single sign-on" }).click();
  await page.getByRole("heading", { name: "Sign in to the local IdP" }).waitFor();
  await shot(page, "sso-idp-login");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Allow" }).click();
}
