// IP rules: validation messages, step-up on change (then automatic retry), the
// lockout refusal in words, check an address, edit, delete, and the audit trail.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { usersOf } from "../lib/env.mjs";
import { auditRows } from "../lib/audit.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("IP rule changes need step-up, explain refusals, and are audited", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.dave);
  await gotoNav(page, "IP rules");
  const add = page.locator("section", { has: page.getByRole("heading", { name: "Add a rule" }) });
  const cidr = add.getByLabel("IP address or CIDR range");

  // Caught before any request.
  await cidr.fill("not an address");
  await add.getByRole("button", { name: "Add rule" }).click();
  await add.getByText("Use an IPv4 or IPv6 address").waitFor();
  // Caught by the API (a /33 prefix looks like a range but is not one), shown at the field.
  await cidr.fill("10.0.0.0/33");
  await add.getByRole("button", { name: "Add rule" }).click();
  const apiMessage = add.locator(".field-error");
  await apiMessage.waitFor();
  assert.doesNotMatch(await apiMessage.innerText(), /Use an IPv4 or IPv6/, "the API's own message is shown");
  await shot(page, "ip-rules-validation");

  // A real change: the step-up modal opens, and the create replays after verify.
  await add.getByLabel("Action").selectOption("deny");
  await cidr.fill("203.0.113.0/24");
  await add.getByLabel("Description (optional)").fill("Known scanner range");
  // datetime-local is local time without a zone; the panel must send an instant.
  const inTwoDays = new Date(Date.now() + 2 * 86_400_000 + 3_600_000);
  const local = new Date(inTwoDays.getTime() - inTwoDays.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await add.getByLabel("Expires (optional)").fill(local);
  await add.getByRole("button", { name: "Add rule" }).click();
  await stepUp(page, USERS.dave);
  const row = page.locator("tr", { hasText: "203.0.113.0/24" });
  await row.waitFor();
  assert.match(await row.innerText(), /deny/);
  assert.match(await row.locator("td[data-label=Expires]").innerText(), /in 2 days/);

  // An allow list that leaves out our own address is refused, in words.
  await add.getByLabel("Action").selectOption("allow");
  await cidr.fill("10.0.0.0/8");
  await add.getByRole("button", { name: "Add rule" }).click();
  await add.getByRole("alert").filter({ hasText: "lock yourself out" }).waitFor();
  assert.equal(await page.locator("tr", { hasText: "10.0.0.0/8" }).count(), 0);
  await shot(page, "ip-rules-lockout");

  const check = page.locator("section", { has: page.getByRole("heading", { name: "Check an address" }) });
  await check.getByLabel("IP address").fill("203.0.113.9");
  await check.getByRole("button", { name: "Check" }).click();
  await check.getByText(/would be blocked by the deny rule 203\.0\.113\.0\/24/).waitFor();
  await shot(page, "ip-rules");

  await row.getByRole("button", { name: /Edit rule/ }).click();
  const edit = page.getByRole("dialog", { name: /Edit rule/ });
  await edit.getByLabel("Description (optional)").fill("Scanner range (ticket 42)");
  await shot(page, "ip-rules-edit", { fullPage: false });
  await edit.getByRole("button", { name: "Save changes" }).click();
  await edit.waitFor({ state: "detached" });
  await page.locator("tr", { hasText: "Scanner range (ticket 42)" }).waitFor();

  await page.locator("tr", { hasText: "203.0.113.0/24" }).getByRole("button", { name: /Delete rule/ }).click();
  await page.getByRole("dialog", { name: "Delete this rule?" }).getByRole("button", { name: "Delete rule" }).click();
  await page.locator("tr", { hasText: "203.0.113.0/24" }).waitFor({ state: "detached" });

  const rows = await auditRows(page, { action: "IP_RULE_CREATED" });
  assert.ok(rows.some((r) => r.outcome === "SUCCESS" && /Dave Admin/.test(r.actor)), "the create is in the audit page");
  const steps = await auditRows(page, { action: "STEP_UP_VERIFIED" });
  assert.ok(steps.some((r) => /Dave Admin/.test(r.actor)), "the step-up is in the audit page");
  assertClean(problems);
  await context.close();
});
