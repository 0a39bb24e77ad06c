// Shared by the scenarios: where the app is, who the demo users are, and their TOTP codes.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { DEMO_PASSWORD, DEMO_USERS } from "../../scripts/demo-data.mjs";
import { gatehousePath } from "../../scripts/gatehouse-path.mjs";

export const BASE_URL = process.env.E2E_BASE_URL ?? "http://localhost:8787";
/** A path of Gatehouse's own surface (panel page or API) on the host: `panel("/sign-in")`. */
export const panel = (path) => `${gatehousePath()}${path}`;
const STATE_DIR = process.env.E2E_STATE_DIR ?? "/tmp";
export const SCREENSHOT_DIR = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SCREENSHOT_DIR, { recursive: true });

export const PASSWORD = DEMO_PASSWORD;
/** The demo users by first name, as `npm start` seeds them (scripts/demo-data.mjs is the one source). */
export const USERS = Object.fromEntries(
  DEMO_USERS.map((u) => [u.email.split("@")[0], { id: u.id, email: u.email, name: u.displayName, totp: u.totp }]),
);

const STEP_MS = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A TOTP code this user has not used yet. The server refuses a step it accepted
 * before (replay) but allows one step of drift, so we may use the next step early;
 * beyond that we wait. The last used step is kept in a file because each test
 * file runs in its own process.
 */
export async function freshTotp(secret) {
  const file = join(STATE_DIR, "totp-steps.json");
  let used = {};
  try {
    used = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // First code of the run.
  }
  const last = used[secret] ?? -Infinity;
  let step = Math.floor(Date.now() / STEP_MS);
  if (last >= step + 1) {
    // Wait until the step after `last` is at most one ahead of the clock.
    await sleep((last * STEP_MS) - Date.now() + 500);
    step = Math.floor(Date.now() / STEP_MS);
  }
  const use = Math.max(step, last + 1);
  used[secret] = use;
  writeFileSync(file, JSON.stringify(used));
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp: use * STEP_MS + 1 });
}
