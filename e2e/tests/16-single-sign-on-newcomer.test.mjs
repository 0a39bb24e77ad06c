// Single sign-on's just-in-time provisioning, through the local OpenID Provider (scripts/idp.mjs,
// started by e2e/run.mjs): someone the provider knows and Gatehouse does not joins the tenant
// on their first sign-in, and the owner's Team page marks them. (A file of its own: its owner
// signs in with TOTP, and one file's owner has two fresh codes before a wait.)
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot } from "../lib/browser.mjs";
import { ownerSignsInWithPassword, signInThroughIdp } from "../lib/sso.mjs";
import { panel, ssoOf, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);
const SSO = ssoOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("someone the identity provider knows and Gatehouse does not joins on their first sign-in, and the owner sees them marked SSO on Team", async () => {
  const newcomer = SSO.accounts.michael;
  const { page, problems, context } = await newPage(browser);
  await page.goto(panel("/sign-in"));
  await signInThroughIdp(page, newcomer);
  await page.getByRole("heading", { level: 1, name: "Active sessions" }).waitFor();

  const owner = await newPage(browser);
  await ownerSignsInWithPassword(owner.page, USERS.peter);
  await gotoNav(owner.page, "Team");
  await owner.page.locator("li.member", { hasText: newcomer.email }).getByText("SSO", { exact: true }).waitFor();
  await shot(owner.page, "sso-team");
  assertClean(problems);
  assertClean(owner.problems);
  await context.close();
  await owner.context.close();
});
