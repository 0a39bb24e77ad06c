// Shared by the scenarios: where the app is, who the demo users are, and their TOTP codes.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as OTPAuth from "otpauth";

export const BASE_URL = process.env.E2E_BASE_URL ?? "http://localhost:8787";
const STATE_DIR = process.env.E2E_STATE_DIR ?? "/tmp";
export const SCREENSHOT_DIR = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SCREENSHOT_DIR, { recursive: true });

export const PASSWORD = "gatehouse-demo-pass";
export const USERS = {
  alice: { email: "alice@acme.test", name: "Alice Owner", totp: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
  dave: { email: "dave@acme.test", name: "Dave Admin", totp: "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF" },
  bob: { email: "bob@acme.test", name: "Bob Member", totp: null },
  carol: { email: "carol@globex.test", name: "Carol Owner", totp: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
};

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
