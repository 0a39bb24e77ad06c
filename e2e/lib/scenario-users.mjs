// Every browser scenario (one file of e2e/tests) has tenants and users of its own: a copy of
// the demo's (scripts/demo-data.mjs) with the same names, roles and two-factor set-up, but its
// own ids, slugs, emails and TOTP secrets. e2e/run.mjs seeds them before the app starts, the
// way `npm start` seeds the demo data. So no scenario sees another's changes (a role, a
// disabled member, the tenant policy) or waits for another's TOTP step, and files run side by side.
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as OTPAuth from "otpauth";
import { DEMO_TENANTS, DEMO_USERS } from "../../scripts/demo-data.mjs";

/** A scenario's name: its file's name without `.test.mjs` (`04-ip-rules`), from a path or file URL. */
export function scenarioOf(file) {
  return basename(file.startsWith("file:") ? fileURLToPath(file) : file).replace(/\.test\.mjs$/, "");
}

/** A TOTP secret of this scenario's user alone (base32, 160 bits), the same in the seed and the scenario. */
function totpSecretOf(scenario, userId) {
  const bytes = createHash("sha256").update(`gatehouse-e2e:${scenario}:${userId}`).digest().subarray(0, 20);
  return new OTPAuth.Secret({ buffer: bytes }).base32;
}

/** The demo's tenants and users, copied for `scenario`, in the shape seedSql (scripts/demo-data.mjs) takes. */
export function scenarioWorld(scenario) {
  const key = scenario.toLowerCase().replace(/[^a-z0-9]+/g, "_");
  const tenants = DEMO_TENANTS.map((t) => ({ ...t, id: `${t.id}_${key}`, slug: `${t.slug}-${key.replace(/_/g, "-")}` }));
  const users = DEMO_USERS.map((u) => {
    const [local, domain] = u.email.split("@");
    return {
      ...u,
      id: `${u.id}_${key}`,
      tenantId: `${u.tenantId}_${key}`,
      email: `${local}@${key.replace(/_/g, "-")}.${domain}`,
      totp: u.totp ? totpSecretOf(scenario, u.id) : null,
    };
  });
  return { tenants, users };
}

/** This scenario's users by first name (`alice`, `dave`, `bob`, `carol`): `const USERS = usersOf(import.meta.url)`. */
export function usersOf(file) {
  const { users } = scenarioWorld(scenarioOf(file));
  return Object.fromEntries(users.map((u) => [u.email.split("@")[0], { id: u.id, email: u.email, name: u.displayName, totp: u.totp }]));
}
