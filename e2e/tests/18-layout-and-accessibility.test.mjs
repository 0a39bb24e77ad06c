// Every panel page at 1280, 768 and 390 px: nothing wider than the screen, the Team page's
// rows keep their words together, "Your account" reachable on a phone, the section tabs say
// when they scroll; the keyboard alone works the Team actions menu; the focus ring on the
// dark bar is visible (its contrast computed); and axe-core finds no serious or critical
// violation on any page. Screenshots of every page at every width land in e2e/screenshots/
// (`npm run screenshots` runs this file alone).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { UA, assertClean, launch, memberAction, newPage, shot, signIn } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const WIDTHS = [1280, 768, 390];
const PAGES = [
  ["/security/sessions", "Active sessions"],
  ["/security/two-factor", "Two-factor authentication"],
  ["/security/ip-rules", "IP rules"],
  ["/security/audit", "Audit log"],
  ["/team", "Team"],
  ["/organization/sso", "Single sign-on"],
  ["/account", "Your account"],
];
const SIGNED_OUT = [
  ["/sign-in", "Sign in to Acme Notes"],
  ["/forgot-password", "Forgot your password?"],
  ["/reset-password?token=pwr_x.y", "Choose a new Acme Notes password"],
  ["/accept-invitation?token=inv_x.y", "Join your team"],
];

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** axe-core in the page (evaluated, as the panel's CSP forbids an injected script tag): its serious and critical violations. */
async function axeViolations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  return found;
}

/** Content wider than the window: a page that scrolls sideways as a whole. */
const overflowsSideways = (page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);

/** WCAG contrast of two CSS colours as getComputedStyle writes them (rgb/rgba over opaque). */
function contrast(a, b) {
  const lum = (css) => {
    const [r, g, bl] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => v / 255).map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test("every page a signed-out visitor sees fits at 1280, 768 and 390 px, and axe finds no serious or critical violation", async () => {
  const { page, problems, context } = await newPage(browser);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [path, title] of SIGNED_OUT) {
      await page.goto(panel(path));
      await page.getByRole("heading", { level: 1, name: title }).waitFor();
      await page.waitForFunction(() => !document.querySelector(".loading"));
      assert.equal(await overflowsSideways(page), false, `${path} at ${width} px scrolls sideways`);
      assert.deepEqual(await axeViolations(page), [], `${path} at ${width} px`);
      await shot(page, `page${path.split("?")[0].replaceAll("/", "-")}-${width}`);
    }
  }
  assertClean(problems);
  await context.close();
});

test("every panel page fits at 1280, 768 and 390 px, Team rows keep their words together, and axe finds no serious or critical violation", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.dave);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [path, title] of PAGES) {
      await page.goto(panel(path));
      await page.getByRole("heading", { level: 1, name: title }).waitFor();
      await page.waitForFunction(() => !document.querySelector(".loading, .empty[role=status]"));
      assert.equal(await overflowsSideways(page), false, `${path} at ${width} px scrolls sideways`);
      assert.deepEqual(await axeViolations(page), [], `${path} at ${width} px`);
      await shot(page, `page${path.replaceAll("/", "-")}-${width}`);
    }
    // Team: each member's name and facts keep their words together (no one-word-per-line column), one menu a row.
    await page.goto(panel("/team"));
    await page.locator("li.member").first().waitFor();
    const narrowest = await page.$$eval("li.member[data-user-id] .member-main", (els) => Math.min(...els.map((el) => el.getBoundingClientRect().width)));
    assert.ok(narrowest >= (width >= 768 ? 260 : 150), `a member column is ${narrowest} px wide at ${width} px`);
    const buttonsPerRow = await page.$$eval("li.member[data-user-id]", (rows) => Math.max(...rows.map((r) => r.querySelectorAll("button").length)));
    assert.ok(buttonsPerRow <= 1, `${buttonsPerRow} buttons in a member row: one actions menu each`);
  }
  assertClean(problems);
  await context.close();
});

test("on a phone, Your account is one tab away and the tabs show they scroll", async () => {
  const { page, problems, context } = await newPage(browser, { userAgent: UA.iphone, width: 390, height: 844 });
  await signIn(page, USERS.bob);
  const wrap = page.locator(".sidenav-wrap");
  assert.match((await wrap.getAttribute("class")) ?? "", /more-after/, "an arrow and a fade say more tabs are to the right");
  await shot(page, "tabs-scroll-390", { fullPage: false });
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Your account" }).click();
  await page.getByRole("heading", { level: 1, name: "Your account" }).waitFor();
  assert.match((await wrap.getAttribute("class")) ?? "", /more-before/, "scrolled to the current tab, the arrow now points back");
  assertClean(problems);
  await context.close();
});

test("the keyboard alone works the Team actions menu, and the focus ring on the dark bar is visible", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.alice);
  // The focus ring on the dark bar: Tab to its first control, then compare the ring with the bar.
  // Wait for the page's heading first: the panel's router moves focus to it once it renders
  // (ui/src/state/router.ts), which would otherwise land between the key presses. Then start from
  // the skip link, the page's first stop, whatever had focus, and Tab to the brand.
  await page.locator("main h1").waitFor();
  await page.locator("a.skip-link").focus();
  await page.keyboard.press("Tab"); // the brand
  const ring = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { inBar: !!el.closest(".topbar"), outline: style.outlineColor, width: parseFloat(style.outlineWidth), style: style.outlineStyle, bar: getComputedStyle(document.querySelector(".topbar")).backgroundColor };
  });
  assert.ok(ring.inBar, "focus is on the bar");
  assert.ok(ring.style !== "none" && ring.width >= 2, `a ring is drawn (${ring.style} ${ring.width}px)`);
  const ratio = contrast(ring.outline, ring.bar);
  assert.ok(ratio >= 3, `the focus ring's contrast against the bar is ${ratio.toFixed(2)}:1 (3:1 needed)`);
  await shot(page, "focus-ring-topbar", { fullPage: false });

  await page.goto(panel("/team"));
  const menuButton = page.getByRole("button", { name: `Actions for ${USERS.bob.name}` });
  await menuButton.focus();
  await page.keyboard.press("Enter");
  const menu = page.getByRole("menu", { name: `Actions for ${USERS.bob.name}` });
  await menu.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("role")), "menuitem", "the first item takes focus");
  await page.keyboard.press("End");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Remove…", "destructive actions come last");
  await shot(page, "team-actions-menu", { fullPage: false });
  await page.keyboard.press("Escape");
  await menu.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), `Actions for ${USERS.bob.name}`, "focus back on the menu button");
  // A destructive action is confirmed first: choosing it opens a dialog, nothing happens yet.
  await memberAction(page, USERS.bob, "Disable…");
  const dialog = page.getByRole("dialog", { name: `Disable ${USERS.bob.name}?` });
  await dialog.waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal(await page.locator("li.member", { hasText: USERS.bob.email }).getByText("Disabled", { exact: true }).count(), 0);
  assertClean(problems);
  await context.close();
});
