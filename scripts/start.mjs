// `npm start`: start the local OpenID Provider, build the panel, apply local D1 migrations,
// seed demo data, and serve Gatehouse in gateway mode in front of the demo product
// (examples/acme-notes), both Workers in one workerd, bound to each other by service
// bindings. Everything runs in wrangler's local mode (workerd + local D1/KV): no account needed.
// GATEHOUSE_STANDALONE=1 serves Gatehouse alone, exactly as wrangler.toml deploys it.
// ORIGIN_URL=http://localhost:5000 ASSERTION_AUDIENCE=my-app puts Gatehouse in front of your
// own origin instead of the demo; the gateway settings (scripts/local-settings.mjs) come from
// the environment or .dev.vars, and whatever cannot be honoured stops the start.
// The IdP (scripts/idp.mjs) runs in this process on IDP_PORT (default 9400; taken: exit at
// once) for the demo's SSO tenant; GATEHOUSE_IDP_ISSUER names one already running instead
// (the browser tests start their own, with their scenarios' clients and accounts: e2e/run.mjs).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { buildPanel } from "./build-ui.mjs";
import {
  DEMO_GATEWAY_VARS,
  DEMO_SSO,
  LOCAL_AUDIT_CHECKPOINT_KEY,
  LOCAL_OPERATOR_TOKEN,
  LOCAL_WEBHOOK_SECRET,
  DEMO_WEBHOOK_PATH,
  LOCAL_SESSION_SNAPSHOT_KEYS,
  LOCAL_TOTP_KEY,
  demoSeedSql,
  fetchDiscovery,
  localPublicOrigin,
  ssoConnectionSql,
} from "./demo-data.mjs";
import { gatehousePath } from "./gatehouse-path.mjs";
import { startDemoIdp } from "./idp.mjs";
import { localSettings, parseDevVars } from "./local-settings.mjs";
import { wranglerSpawn, wranglerSync } from "./wrangler.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
// No network beyond loopback here: skip fetching a live Request.cf sample.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const port = process.env.PORT ?? "8787";
// Every link Gatehouse sends out (invitations, password resets) starts with PUBLIC_ORIGIN:
// here, the address served below (wrangler.toml leaves it empty for each deployment to set).
const publicOrigin = localPublicOrigin(port);
const persistTo = process.env.GATEHOUSE_PERSIST_TO; // bench and e2e use a throwaway state dir
const persistArgs = persistTo ? ["--persist-to", persistTo] : [];

// The gateway settings, checked before anything starts (every problem at once).
const standalone = process.env.GATEHOUSE_STANDALONE === "1";
const declaredSecrets = JSON.parse(/^\[secrets\]\s*\nrequired\s*=\s*(\[[^\]]*\])/m.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "[]");
let settings;
try {
  settings = localSettings({ env: process.env, devVars: parseDevVars(existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : ""), declaredSecrets, standalone, port });
} catch (err) {
  console.error(`\n${err.message}\n(docs/integrate.md: "Your origin behind Gatehouse, locally")`);
  process.exit(1);
}

function wrangler(args) {
  const res = wranglerSync(args, { stdio: "inherit" });
  if (res.status !== 0) {
    console.error(`\nwrangler ${args.join(" ")} failed (exit ${res.status})`);
    process.exit(res.status ?? 1);
  }
}

// First, so that a taken IDP_PORT stops everything before any work.
const idpIssuer =
  process.env.GATEHOUSE_IDP_ISSUER ||
  (await startDemoIdp(publicOrigin).then(
    (idp) => idp.issuer,
    (err) => {
      console.error(`\n${err.message}`);
      process.exit(1);
    },
  ));

buildPanel();
mkdirSync("dist/panel", { recursive: true });

// Local-only secrets for wrangler dev; a deploy uses `wrangler secret put` instead.
// Secrets added later are appended to an existing .dev.vars; values already there are kept.
const LOCAL_SECRETS = {
  TOTP_ENCRYPTION_KEY: LOCAL_TOTP_KEY,
  AUDIT_CHECKPOINT_KEY: LOCAL_AUDIT_CHECKPOINT_KEY,
  OPERATOR_TOKEN: LOCAL_OPERATOR_TOKEN,
  // Without WEBHOOK_URL (set below for the demo) it signs nothing: webhooks are off.
  WEBHOOK_SECRET: LOCAL_WEBHOOK_SECRET,
  SESSION_SNAPSHOT_KEYS: LOCAL_SESSION_SNAPSHOT_KEYS,
};
let devVars = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "# Local development only. Never use these values in production.\n";
for (const [name, value] of Object.entries(LOCAL_SECRETS)) {
  if (!new RegExp(`^${name}=`, "m").test(devVars)) devVars += `${devVars.endsWith("\n") ? "" : "\n"}${name}=${value}\n`;
}
if (!/^ASSERTION_SIGNING_KEYS=/m.test(devVars)) {
  // A fresh local key pair for the identity assertion (`npm run keys`, scripts/keys.mjs).
  const keys = spawnSync(process.execPath, ["--js-base-64", "scripts/keys.mjs", "new", "ASSERTION_SIGNING_KEYS", "--dev-vars"], { encoding: "utf8" });
  if (keys.status !== 0) throw new Error(`npm run keys failed: ${keys.stderr}`);
  devVars += `${devVars.endsWith("\n") ? "" : "\n"}${keys.stdout.trim()}\n`;
}
writeFileSync(".dev.vars", devVars);

// The demo: wrangler.toml plus the product behind Gatehouse (ORIGIN) and the assertion's
// audience and public paths. Written beside wrangler.toml (its paths stay right) and
// ignored by git: a deploy uses wrangler.toml alone.
const DEMO_CONFIG = ".wrangler-demo.toml";
if (settings.origin !== "none") {
  const base = readFileSync("wrangler.toml", "utf8");
  if (!base.includes("\n[vars]\n")) throw new Error("wrangler.toml has no [vars] table to extend");
  // TOML literal strings: the JSON values hold no single quote. Your own origin (ORIGIN_URL) gets none of the demo's.
  const vars = settings.origin === "demo" ? Object.entries(DEMO_GATEWAY_VARS).map(([name, value]) => `${name} = '${value}'\n`).join("") : "";
  let demo = base.replace("\n[vars]\n", `\n[vars]\n# Demo only (scripts/start.mjs): the product behind Gatehouse.\n${vars}`);
  // GATEHOUSE_LOGIN_ADDRESS_LIMIT: sign-in attempts a minute per client address, for a run
  // whose many browsers all come from 127.0.0.1 (the browser scenarios, e2e/run.mjs).
  const addressLimit = process.env.GATEHOUSE_LOGIN_ADDRESS_LIMIT;
  if (addressLimit !== undefined) {
    if (!/^[1-9][0-9]{0,5}$/.test(addressLimit)) throw new Error(`GATEHOUSE_LOGIN_ADDRESS_LIMIT must be a whole number from 1 to 999999, not "${addressLimit}"`);
    const limiter = /(name = "LOGIN_ADDRESS_LIMITER"\n(?:[^\n[]*\n)*?simple = \{ limit = )\d+/;
    if (!limiter.test(demo)) throw new Error("wrangler.toml has no LOGIN_ADDRESS_LIMITER limit to change");
    demo = demo.replace(limiter, `$1${addressLimit}`);
  }
  const binding = settings.origin === "demo" ? `\n[[services]]\nbinding = "ORIGIN"\nservice = "acme-notes"\n` : "";
  writeFileSync(DEMO_CONFIG, `# Generated by scripts/start.mjs from wrangler.toml; do not edit.\n${demo}${binding}`);
}

wrangler(["d1", "migrations", "apply", "DB", "--local", ...persistArgs]);
mkdirSync(".wrangler", { recursive: true });
// GATEHOUSE_EXTRA_SEED: a file of more seed SQL, run with the demo's (the browser tests seed
// their scenarios' own tenants and users this way, e2e/run.mjs).
const extraSeed = process.env.GATEHOUSE_EXTRA_SEED ? readFileSync(process.env.GATEHOUSE_EXTRA_SEED, "utf8") : "";
// The demo SSO tenant's connection keeps the IdP's discovery document, fetched now that it runs.
const ssoSeed = await ssoConnectionSql(DEMO_SSO, await fetchDiscovery(idpIssuer));
writeFileSync(".wrangler/demo-seed.sql", (await demoSeedSql()) + ssoSeed + extraSeed);
wrangler(["d1", "execute", "DB", "--local", "--file", ".wrangler/demo-seed.sql", ...persistArgs]);

const serving = {
  none: `Gatehouse on ${publicOrigin}${gatehousePath()}/`,
  demo: `The demo product behind Gatehouse on ${publicOrigin}/  (security panel: ${gatehousePath()}/,`,
  url: `${settings.vars.ORIGIN_URL} behind Gatehouse on ${publicOrigin}/  (security panel: ${gatehousePath()}/,`,
}[settings.origin];
console.log(`\n${serving}${settings.origin === "none" ? "  (" : " "}demo users: docs/local.md)\n`);
console.log(`The local IdP (Initech's single sign-on, docs/local.md) on ${idpIssuer}\n`);
console.log(
  `Operator commands (in another terminal; the local OPERATOR_TOKEN is in .dev.vars):\n` +
    `  npm run gatehouse -- tenant create --name "Hooli" --slug hooli --owner gavin@hooli.test\n` +
    `  npm run gatehouse -- tenant list\n  npm run gatehouse -- tenant disable <tenant id>\n`,
);
const extra = process.env.GATEHOUSE_QUIET === "1" ? ["--log-level", "error"] : [];
// GATEHOUSE_PWNED_PASSWORDS_API: a stand-in for Have I Been Pwned's range API (the browser
// tests run one, e2e/run.mjs); unset, the real one is asked (src/lib/breached-passwords.ts).
if (process.env.GATEHOUSE_PWNED_PASSWORDS_API) extra.push("--var", `PWNED_PASSWORDS_API:${process.env.GATEHOUSE_PWNED_PASSWORDS_API}`);
const configs = { none: [], url: ["-c", DEMO_CONFIG], demo: ["-c", DEMO_CONFIG, "-c", "examples/acme-notes/wrangler.toml"] }[settings.origin];
// The gateway settings given (scripts/local-settings.mjs) override wrangler.toml's and the demo's.
const settingVars = Object.entries(settings.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
// The demo product receives Gatehouse's product webhooks (docs/webhooks.md) through Gatehouse's own address.
if (settings.origin === "demo") settingVars.push("--var", `WEBHOOK_URL:${publicOrigin}${DEMO_WEBHOOK_PATH}`);
const dev = wranglerSpawn(["dev", ...configs, "--var", `PUBLIC_ORIGIN:${publicOrigin}`, ...settingVars, "--port", port, "--ip", "127.0.0.1", ...persistArgs, ...extra], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));
