// Single sign-on through the local OpenID Provider (scripts/idp.mjs, started by e2e/run.mjs)
// and SCIM deprovisioning: a member whose email's domain has single sign-on is sent to the
// identity provider from the sign-in page, signs in on its login page, and lands back on the
// product greeted by name; the owner's SCIM token then disables them, and that browser's
// session ends on its next request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot, stepUp } from "../lib/browser.mjs";
import { ownerSignsInWithPassword, signInThroughIdp } from "../lib/sso.mjs";
import { BASE_URL, panel, ssoOf, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);
const SSO = ssoOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const scim = (token, path, init = {}) =>
  fetch(`${BASE_URL}${panel(`/scim/v2${path}`)}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json", accept: "application/scim+json" },
  });

test("a member signs in through the organization's identity provider, lands on the product greeted by name, and SCIM's active:false ends that session on its next request", async () => {
  const member = SSO.accounts.samir;
  const owner = await newPage(browser);
  await ownerSignsInWithPassword(owner.page, USERS.peter);
  await gotoNav(owner.page, "Single sign-on");
  await owner.page.getByRole("button", { name: "Create token" }).click();
  await owner.page.getByRole("dialog", { name: "Create a SCIM token?" }).getByRole("button", { name: "Create" }).click();
  await stepUp(owner.page, USERS.peter);
  const token = await owner.page.getByLabel("SCIM token", { exact: true }).inputValue();
  assert.match(token, /\S{20,}/);
  await shot(owner.page, "sso-settings");

  const product = await newPage(browser);
  await product.page.goto("/app");
  await product.page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app");
  await signInThroughIdp(product.page, member);
  await product.page.waitForURL((url) => url.pathname === "/app");
  await product.page.getByRole("heading", { name: `Hello, ${member.name}` }).waitFor();

  const found = await scim(token, `/Users?filter=${encodeURIComponent(`userName eq "${member.email}"`)}`);
  assert.equal(found.status, 200);
  const [resource] = (await found.json()).Resources;
  const patched = await scim(token, `/Users/${resource.id}`, {
    method: "PATCH",
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }),
  });
  assert.equal(patched.status, 200);
  assert.equal((await patched.json()).active, false);

  await product.page.goto("/app");
  await product.page.waitForURL((url) => url.pathname === panel("/sign-in") && url.searchParams.get("returnTo") === "/app");
  await product.page.getByLabel("Email address").waitFor();
  assertClean(owner.problems);
  assertClean(product.problems);
  await owner.context.close();
  await product.context.close();
});
