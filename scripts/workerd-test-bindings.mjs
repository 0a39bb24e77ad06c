// The bindings every workerd test run gives Gatehouse, `npm test`'s (vitest.config.ts) and the
// bench's (bench/vitest.config.ts) alike, so that a setting the worker comes to require at
// startup is added once and reaches both.
import { fileURLToPath } from "node:url";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { LOCAL_AUDIT_CHECKPOINT_KEY, LOCAL_SESSION_SNAPSHOT_KEYS, LOCAL_TOTP_KEY } from "./demo-data.mjs";

/** The origin of every link Gatehouse builds: the one test/helpers.ts's requests use (ORIGIN). */
export const TEST_PUBLIC_ORIGIN = "https://gatehouse.test";

/** PUBLIC_ORIGIN, the local keys and the migrations (applied by test/apply-migrations.ts). */
export async function workerdTestBindings() {
  return {
    // Also the local IdP's test client's redirect URI (test/local-idp-setup.mjs).
    PUBLIC_ORIGIN: TEST_PUBLIC_ORIGIN,
    // Local-only keys, shared with `npm start`; deploys use `wrangler secret put`.
    TOTP_ENCRYPTION_KEY: LOCAL_TOTP_KEY,
    AUDIT_CHECKPOINT_KEY: LOCAL_AUDIT_CHECKPOINT_KEY,
    SESSION_SNAPSHOT_KEYS: LOCAL_SESSION_SNAPSHOT_KEYS,
    // No test calls out to Have I Been Pwned: test/breached-passwords.test.ts stands a fixture in for it.
    PWNED_PASSWORDS_API: "off",
    TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("../migrations", import.meta.url))),
  };
}
