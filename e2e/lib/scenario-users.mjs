// Every browser scenario (one file of e2e/tests) has tenants and users of its own: a copy of
// the demo's (scripts/demo-data.mjs) with the same names, roles and two-factor set-up, but its
// own ids, slugs, emails and TOTP secrets, and a copy of the demo's single sign-on (its own
// connection, IdP client, email domain and IdP accounts). e2e/run.mjs seeds them before the
// app starts, the way `npm start` seeds the demo data, and registers the clients and accounts
// with the local IdP it starts. So no scenario sees another's changes (a role, a disabled
// member, the tenant policy, an SSO sign-in) or waits for another's TOTP step, and files run side by side.
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as OTPAuth from "otpauth";
import { DEMO_SSO, DEMO_TENANTS, DEMO_USERS } from "../../scripts/demo-data.mjs";

/** A scenario's name: its file's name without `.test.mjs` (`04-ip-rules`), from a path or file URL. */
export function scenarioOf(file) {
  return basename(file.startsWith("file:") ? fileURLToPath(file) : file).replace(/\.test\.mjs$/, "");
}

/** A TOTP secret of this scenario's user alone (base32, 160 bits), the same in the seed and the scenario. */
function totpSecretOf(scenario, userId) {
  const bytes = createHash("sha256").update(`gatehouse-e2e:${scenario}:${userId}`).digest().subarray(0, 20);
  return new OTPAuth.Secret({ buffer: bytes }).base32;
}

/**
 * The demo's tenants, users and SSO connection, copied for `scenario`, in the shapes seedSql
 * and ssoConnectionSql (scripts/demo-data.mjs) take.
 */
export function scenarioWorld(scenario) {
  const key = scenario.toLowerCase().replace(/[^a-z0-9]+/g, "_");
  const slug = key.replace(/_/g, "-");
  const emailOf = (email) => email.replace("@", `@${slug}.`);
  const tenants = DEMO_TENANTS.map((t) => ({ ...t, id: `${t.id}_${key}`, slug: `${t.slug}-${slug}` }));
  const users = DEMO_USERS.map((u) => ({
    ...u,
    id: `${u.id}_${key}`,
    tenantId: `${u.tenantId}_${key}`,
    email: emailOf(u.email),
    totp: u.totp ? totpSecretOf(scenario, u.id) : null,
  }));
  const sso = {
    ...DEMO_SSO,
    connectionId: `${DEMO_SSO.connectionId}_${key}`,
    tenantId: `${DEMO_SSO.tenantId}_${key}`,
    clientId: `${DEMO_SSO.clientId}-${slug}`,
    domains: DEMO_SSO.domains.map((d) => `${slug}.${d}`),
    accounts: DEMO_SSO.accounts.map((a) => ({ ...a, email: emailOf(a.email) })),
  };
  return { tenants, users, sso };
}

/** This scenario's users by first name (`alice`, `dave`, `bob`, `carol`, `peter`, `samir`): `const USERS = usersOf(import.meta.url)`. */
export function usersOf(file) {
  const { users } = scenarioWorld(scenarioOf(file));
  return Object.fromEntries(users.map((u) => [u.email.split("@")[0], { id: u.id, email: u.email, name: u.displayName, totp: u.totp }]));
}

/**
 * This scenario's single sign-on: its email domain and its accounts at the local IdP by first
 * name (`samir`, a member already; `michael`, whom a first SSO sign-in creates), each with its
 * IdP password: `const SSO = ssoOf(import.meta.url)`.
 */
export function ssoOf(file) {
  const { sso } = scenarioWorld(scenarioOf(file));
  const accounts = sso.accounts.map((a) => [a.email.split("@")[0], { email: a.email, password: a.password, name: `${a.givenName} ${a.familyName}` }]);
  return { domain: sso.domains[0], accounts: Object.fromEntries(accounts) };
}
