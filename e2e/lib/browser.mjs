// Chromium via playwright-core, with the checks every scenario wants: no CSP
// violations, no uncaught errors, and a screenshot of every page it visits.
// e2e/run.mjs starts one chromium for the whole run (launchServer) and every scenario file
// connects to it (E2E_BROWSER_WS): each scenario still gets cookie jars of its own (a browser
// context per page), without a browser start per file. A scenario file run on its own
// (`node --test e2e/tests/…`) starts a chromium of its own.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { BASE_URL, freshTotp, panel, PASSWORD, SCREENSHOT_DIR } from "./env.mjs";

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const UA = {
  mac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
  iphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
  windows: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:141.0) Gecko/20100101 Firefox/141.0",
};

const LAUNCH_OPTIONS = { executablePath: "/usr/bin/chromium", headless: true, args: ARGS, timeout: 30_000 };

/** The run's chromium, for e2e/run.mjs: scenario files connect to its `wsEndpoint()`. */
export async function launchShared() {
  return chromium.launchServer(LAUNCH_OPTIONS);
}

/**
 * The browser a scenario file uses: the run's shared chromium (closing it only disconnects,
 * after closing this file's contexts), or, outside e2e/run.mjs, one of its own.
 */
export async function launch() {
  const shared = process.env.E2E_BROWSER_WS;
  return shared ? chromium.connect(shared, { timeout: 30_000 }) : chromium.launch(LAUNCH_OPTIONS);
}

/** What `download` holds, as text. A download from a connected browser has no local path: a copy is saved (saveAs), read and removed. */
export async function downloadedText(download) {
  const file = join(tmpdir(), `gatehouse-e2e-${randomUUID()}-${download.suggestedFilename()}`);
  await download.saveAs(file);
  try {
    return await readFile(file, "utf8");
  } finally {
    await rm(file, { force: true });
  }
}

/** A fresh cookie jar; `problems` collects CSP violations and page errors. */
export async function newPage(browser, { userAgent = UA.mac, width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ baseURL: BASE_URL, userAgent, viewport: { width, height }, acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to (load|apply|execute)/i.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  return { context, page, problems };
}

export function assertClean(problems) {
  assert.deepEqual(problems, [], "the page logged CSP violations or errors");
}

/** Full page by default; modals are shot as the viewport, where their backdrop is. */
export async function shot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage });
}

/** Signs in through the UI, answering the TOTP step when the account has one. */
export async function signIn(page, user, { password = PASSWORD } = {}) {
  await page.goto(panel("/sign-in"));
  await page.getByLabel("Email address").fill(user.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  if (user.totp) {
    await page.getByLabel("Authentication code").fill(await freshTotp(user.totp));
    await page.getByRole("button", { name: "Verify" }).click();
  }
  await page.waitForURL("**/security/sessions");
  await page.getByRole("heading", { level: 1, name: "Active sessions" }).waitFor();
}

/** Fills and submits the step-up modal the fetch layer opened. */
export async function stepUp(page, user, { password = PASSWORD } = {}) {
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await dialog.waitFor();
  if (user.totp) await dialog.getByLabel("Authentication code").fill(await freshTotp(user.totp));
  else await dialog.getByLabel("Account password").fill(password);
  await submitStepUp(dialog, "Verify");
}

/** Clicks the step-up modal's `button` and waits for the modal to close. */
export async function submitStepUp(dialog, button) {
  await dialog.getByRole("button", { name: button }).click();
  try {
    await dialog.waitFor({ state: "detached" });
  } catch (err) {
    // Say what the modal said (a refused code, a lockout) instead of only "timeout".
    const said = await dialog.getByRole("alert").allInnerTexts().catch(() => []);
    throw new Error(`step-up modal stayed open: ${said.join(" / ") || "no message"}`, { cause: err });
  }
}

export async function gotoNav(page, name) {
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name }).click();
  await page.getByRole("heading", { level: 1 }).first().waitFor();
}

/**
 * Waits until `locator`'s element has focus. Autofocus and focus return run in effects
 * after a render, so a keystroke sent before this lands somewhere else.
 */
export async function waitForFocus(locator, what) {
  const element = await locator.elementHandle();
  try {
    await locator.page().waitForFunction((el) => el === document.activeElement, element);
  } catch (err) {
    const actual = await locator.page().evaluate(() => document.activeElement?.outerHTML.slice(0, 120) ?? "nothing");
    throw new Error(`${what}: focus never arrived (focused: ${actual})`, { cause: err });
  } finally {
    await element?.dispose();
  }
}

/** On the Team page, opens `member`'s actions menu and chooses `action` ("Force logout…", "View sessions"). */
export async function memberAction(page, member, action) {
  await page.getByRole("button", { name: `Actions for ${member.name}` }).click();
  await page.getByRole("menu", { name: `Actions for ${member.name}` }).getByRole("menuitem", { name: action, exact: true }).click();
}

/** From the Team page, `admin` starts acting as `member` with `reason` (step-up included); waits for the banner. */
export async function startImpersonation(page, admin, member, reason) {
  await gotoNav(page, "Team");
  await memberAction(page, member, "Impersonate…");
  const dialog = page.getByRole("dialog", { name: `Act as ${member.name}` });
  await dialog.getByLabel("Reason").fill(reason);
  await dialog.getByRole("button", { name: "Start impersonating" }).click();
  await stepUp(page, admin);
  await page.getByRole("region", { name: "Impersonation" }).waitFor();
}

/**
 * On a panel page, ends the impersonation: exit is guarded by the same purpose, and the
 * grant from the start may still cover it, so a step-up is answered only if one opens.
 */
export async function exitImpersonation(page, admin) {
  await page.getByRole("region", { name: "Impersonation" }).getByRole("button", { name: "Exit" }).click();
  const outcome = await page.waitForFunction(() => {
    if (document.querySelector("dialog[open]")) return "step-up";
    return document.querySelector(".impersonation-banner") ? null : "exited";
  });
  if ((await outcome.jsonValue()) === "step-up") await stepUp(page, admin);
  await page.getByRole("region", { name: "Impersonation" }).waitFor({ state: "detached" });
}
