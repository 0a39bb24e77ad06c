// Impersonation: start asks for a reason and step-up, a banner shows on every page,
// exit is guarded too, and both ends appear in the audit page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, memberAction, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { usersOf } from "../lib/env.mjs";
import { auditRows } from "../lib/audit.mjs";

const USERS = usersOf(import.meta.url);

// Alice stays signed in for the file; her two TOTP codes at hand go to her sign-in and
// the impersonation, so the role change is Dave's (a third code would wait for the clock).
let browser;
let page;
let problems;
before(async () => {
  browser = await launch();
  ({ page, problems } = await newPage(browser));
  await signIn(page, USERS.alice);
});
after(async () => {
  assertClean(problems);
  await browser?.close();
});

const REASON = "Support ticket 1234: cannot see sessions";

test("impersonation start and exit need step-up and are audited", async () => {
  await gotoNav(page, "Team");
  const bob = page.locator("li.member", { hasText: USERS.bob.email });
  await bob.waitFor();
  await shot(page, "team");

  await memberAction(page, USERS.bob, "Impersonate…");
  const dialog = page.getByRole("dialog", { name: `Act as ${USERS.bob.name}` });
  await dialog.getByLabel("Reason").fill("no");
  await dialog.getByRole("button", { name: "Start impersonating" }).click();
  await dialog.getByText("Give a reason of 3 to 500 characters").waitFor();
  await dialog.getByLabel("Reason").fill(REASON);
  await shot(page, "impersonate-reason", { fullPage: false });
  await dialog.getByRole("button", { name: "Start impersonating" }).click();
  await stepUp(page, USERS.alice);

  const banner = page.getByRole("region", { name: "Impersonation" });
  await banner.waitFor();
  assert.match(await banner.innerText(), new RegExp(`You are acting as ${USERS.bob.name} \\(${REASON}\\)`));
  assert.match(await banner.innerText(), /\d+:\d\d left|\d+h \d\dm left/);
  // The panel is now Bob's: a member's navigation, Bob's name in the header.
  assert.deepEqual(await page.getByRole("navigation", { name: "Settings" }).getByRole("link").allInnerTexts(), ["Active sessions", "Two-factor", "Your account"]);
  await shot(page, "impersonation-banner");
  await gotoNav(page, "Two-factor");
  await banner.waitFor();

  await banner.getByRole("button", { name: "Exit" }).click();
  // Exit is guarded by the same purpose; a grant from the start may still cover it.
  const outcome = await page.waitForFunction(() => {
    if (document.querySelector("dialog[open]")) return "step-up";
    return document.querySelector(".impersonation-banner") ? null : "exited";
  });
  if ((await outcome.jsonValue()) === "step-up") await stepUp(page, USERS.alice);
  await banner.waitFor({ state: "detached" });
  await page.getByRole("heading", { level: 1, name: "Team" }).waitFor();

  const started = await auditRows(page, { action: "IMPERSONATION_STARTED" });
  assert.ok(started.some((r) => r.outcome === "SUCCESS" && /Alice Owner/.test(r.actor) && /Bob Member/.test(r.target)), "start is audited");
  const ended = await auditRows(page, { action: "IMPERSONATION_ENDED" });
  assert.ok(ended.some((r) => r.outcome === "SUCCESS"), "exit is audited");
  await page.locator("tr.audit-row", { hasText: "Impersonation ended" }).first().getByRole("button", { name: /Details/ }).click();
  await shot(page, "audit-impersonation");
});

test("changing a role needs step-up and records before and after", async () => {
  const dave = await newPage(browser);
  await signIn(dave.page, USERS.dave);
  await gotoNav(dave.page, "Team");
  await memberAction(dave.page, USERS.bob, "Change role…");
  const confirm = dave.page.getByRole("dialog", { name: `Change ${USERS.bob.name}'s role` });
  await confirm.getByLabel("Role").selectOption("admin");
  await confirm.getByRole("button", { name: "Change role" }).click();
  await stepUp(dave.page, USERS.dave);
  await confirm.waitFor({ state: "detached" });
  await dave.page.waitForFunction((email) => {
    const row = [...document.querySelectorAll("li.member")].find((li) => li.textContent?.includes(email));
    return row?.querySelector(".badge-role")?.textContent === "admin";
  }, USERS.bob.email);

  await auditRows(dave.page, { action: "USER_ROLE_UPDATED" });
  await dave.page.locator("tr.audit-row").first().getByRole("button", { name: /Details/ }).click();
  const detail = dave.page.locator("tr.audit-detail").first();
  assert.match(await detail.locator("pre").nth(0).innerText(), /"role": "member"/);
  assert.match(await detail.locator("pre").nth(1).innerText(), /"role": "admin"/);
  await shot(dave.page, "audit-role-change");
  assertClean(dave.problems);
  await dave.context.close();
});

test("an admin without two-factor is sent to set it up before a guarded change", async () => {
  // Bob became an admin in the previous test, and has no authenticator.
  const bob = await newPage(browser);
  await signIn(bob.page, USERS.bob);
  await gotoNav(bob.page, "IP rules");
  const add = bob.page.locator("section", { has: bob.page.getByRole("heading", { name: "Add a rule" }) });
  await add.getByLabel("IP address or CIDR range").fill("192.0.2.0/24");
  await add.getByRole("button", { name: "Add rule" }).click();
  const dialog = bob.page.getByRole("dialog", { name: "Set up two-factor first" });
  await dialog.waitFor();
  await shot(bob.page, "step-up-enrollment-required", { fullPage: false });
  await dialog.getByRole("link", { name: "Set up two-factor" }).click();
  await bob.page.getByRole("heading", { level: 1, name: "Two-factor authentication" }).waitFor();
  assert.equal(await add.count(), 0);
  assertClean(bob.problems);
  await bob.context.close();
});

test("the audit list pages with load more, without gaps or repeats", async () => {
  await gotoNav(page, "Audit log");
  await page.getByRole("button", { name: "Reset" }).click();
  await page.getByLabel("Per page").selectOption("10");
  await page.getByRole("button", { name: "Apply filters" }).click();
  const rows = page.locator("tr.audit-row");
  await page.waitForFunction(() => document.querySelectorAll("tr.audit-row").length === 10);
  await page.getByRole("button", { name: "Load more" }).click();
  await page.waitForFunction(() => document.querySelectorAll("tr.audit-row").length > 10);
  const seqs = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute("data-seq"))));
  assert.equal(new Set(seqs).size, seqs.length, "no row twice");
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), "newest first across pages");
  assert.equal(seqs[0] - seqs[seqs.length - 1], seqs.length - 1, "no gap between pages");
});

test("every page fits a 375 px phone without sideways scrolling", async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  const pages = [
    ["Active sessions", "sessions"],
    ["Two-factor", "two-factor"],
    ["IP rules", "ip-rules"],
    ["Audit log", "audit"],
    ["Team", "team"],
  ];
  for (const [link, name] of pages) {
    await gotoNav(page, link);
    // Every loading placeholder gone (a page may load several lists, e.g. Team's members and invitations).
    await page.waitForFunction(() => document.querySelector(".empty[role=status]") === null);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `${link} is ${width} px wide at 375 px`);
    await shot(page, `${name}-375px`);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
});
