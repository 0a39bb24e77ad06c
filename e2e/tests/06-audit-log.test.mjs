// The audit page: SUCCESS and FAIL rows, filters, expandable before/after,
// exports, chain status, and only the viewer's own tenant.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, downloadedText, gotoNav, launch, newPage, shot, signIn, waitForFocus } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";
import { auditRows } from "../lib/audit.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("the audit page shows SUCCESS and FAIL rows with details, exports and chain status", async () => {
  // The other tenant (this scenario's Acme) has rows too: Bob signs in there.
  const other = await newPage(browser);
  await signIn(other.page, USERS.bob);
  await other.context.close();

  const { page, problems, context } = await newPage(browser);
  // A failed sign-in first, so this tenant has a FAIL row of its own.
  await page.goto(panel("/sign-in"));
  await page.getByLabel("Email address").fill(USERS.carol.email);
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("alert").waitFor();
  await signIn(page, USERS.carol);

  // A cancelled step-up changes nothing.
  await gotoNav(page, "IP rules");
  const add = page.locator("section", { has: page.getByRole("heading", { name: "Add a rule" }) });
  await add.getByLabel("IP address or CIDR range").fill("198.51.100.0/24");
  await add.getByRole("button", { name: "Add rule" }).click();
  const modal = page.getByRole("dialog", { name: "Confirm it's you" });
  await modal.getByLabel("Authentication code").fill("000000");
  await modal.getByRole("button", { name: "Verify" }).click();
  await modal.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
  await modal.getByRole("button", { name: "Cancel" }).click();
  await modal.waitFor({ state: "detached" });
  await waitForFocus(add.getByRole("button", { name: "Add rule" }), "focus returns to the button that asked");
  assert.equal(await page.locator("tr", { hasText: "198.51.100.0/24" }).count(), 0);
  assert.equal(await add.getByRole("alert").count(), 0, "cancelling is not an error");

  const all = await auditRows(page);
  const outcomes = new Set(all.map((r) => r.outcome));
  assert.ok(outcomes.has("SUCCESS") && outcomes.has("FAIL"), `both outcomes listed (saw ${[...outcomes]})`);
  // The page names its own tenant's members and shows anyone else by id: look for both.
  const others = [USERS.alice, USERS.dave, USERS.bob].flatMap((u) => [u.id, u.name]);
  assert.ok(all.every((r) => !others.some((o) => r.actor.includes(o))), "no other tenant's rows");
  await page.locator(".chain-ok").filter({ hasText: "Hash chain intact" }).waitFor();
  await shot(page, "audit");

  const failed = await auditRows(page, { outcome: "FAIL" });
  assert.ok(failed.length > 0 && failed.every((r) => r.outcome === "FAIL"));
  assert.ok(failed.some((r) => r.action === "LOGIN_FAILED"), "the failed sign-in is listed");

  const loginRow = page.locator("tr.audit-row[data-action='LOGIN_SUCCEEDED']").first();
  await auditRows(page, { action: "LOGIN_SUCCEEDED" });
  await loginRow.getByRole("button", { name: /Details/ }).click();
  const detail = page.locator("tr.audit-detail").first();
  await detail.getByRole("heading", { name: "Before" }).waitFor();
  await detail.getByRole("heading", { name: "After" }).waitFor();
  await shot(page, "audit-expanded");

  await auditRows(page);
  for (const format of ["csv", "ndjson"]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Export ${format.toUpperCase()}` }).click()]);
    const text = await downloadedText(download);
    assert.ok(text.length > 0, `${format} export is not empty`);
    if (format === "ndjson") for (const line of text.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(line));
    else assert.match(text.split("\n")[0] ?? "", /action/i);
  }

  await page.setViewportSize({ width: 375, height: 740 });
  await gotoNav(page, "Audit log");
  await page.locator("tr.audit-row").first().waitFor();
  await shot(page, "audit-375px");
  assertClean(problems);
  await context.close();
});
