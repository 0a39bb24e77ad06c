// Shared by the scenarios: where the app and the local IdP are, whose users a scenario has, and their TOTP codes.
import { mkdirSync } from "node:fs";
import * as OTPAuth from "otpauth";
import { DEMO_PASSWORD } from "../../scripts/demo-data.mjs";
import { gatehousePath } from "../../scripts/gatehouse-path.mjs";

export { ssoOf, usersOf } from "./scenario-users.mjs";

export const BASE_URL = process.env.E2E_BASE_URL ?? "http://localhost:8787";
/** The local OpenID Provider e2e/run.mjs started for this run (its login page is what SSO scenarios type into). */
export const IDP_ISSUER = process.env.E2E_IDP_ISSUER ?? "http://127.0.0.1:9400";
/** A path of Gatehouse's own surface (panel page or API) on the host: `panel("/sign-in")`. */
export const panel = (path) => `${gatehousePath()}${path}`;
export const SCREENSHOT_DIR = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SCREENSHOT_DIR, { recursive: true });

export const PASSWORD = DEMO_PASSWORD;

const STEP_MS = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last step each secret used. Each scenario file runs in its own process and has users of its own. */
const lastStep = new Map();

/**
 * A TOTP code this user has not used yet. The server refuses a step at or before the last
 * one it accepted (replay) but allows one step of drift, so a user has two codes at hand:
 * this step's and the next one's. Only a third code inside the same half-minute waits for
 * the clock, as a person with an authenticator app would; a scenario whose user needs that
 * many in a row is one where the same person must verify each time (single-use grants).
 */
export async function freshTotp(secret) {
  const last = lastStep.get(secret) ?? -Infinity;
  let step = Math.floor(Date.now() / STEP_MS);
  if (last >= step + 1) {
    // Wait until the step after `last` is at most one ahead of the clock.
    await sleep((last * STEP_MS) - Date.now() + 500);
    step = Math.floor(Date.now() / STEP_MS);
  }
  const use = Math.max(step, last + 1);
  lastStep.set(secret, use);
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate({ timestamp: use * STEP_MS + 1 });
}
