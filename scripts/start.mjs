// `npm start`: build the panel, apply local D1 migrations, seed demo data, serve.
// Everything runs in wrangler's local mode (workerd + local D1/KV): no account needed.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { LOCAL_AUDIT_CHECKPOINT_KEY, LOCAL_TOTP_KEY, demoSeedSql } from "./demo-data.mjs";
import { gatehousePath } from "./gatehouse-path.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
// No network beyond loopback here: skip fetching a live Request.cf sample.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const port = process.env.PORT ?? "8787";
const persistTo = process.env.GATEHOUSE_PERSIST_TO; // bench and e2e use a throwaway state dir
const persistArgs = persistTo ? ["--persist-to", persistTo] : [];

function run(cmd, args) {
  const res = spawnSync(cmd, args, { stdio: "inherit" });
  if (res.status !== 0) {
    console.error(`\n${cmd} ${args.join(" ")} failed (exit ${res.status})`);
    process.exit(res.status ?? 1);
  }
}

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
if (pkg.scripts["build:ui"] && process.env.GATEHOUSE_SKIP_UI_BUILD !== "1") run("npm", ["run", "build:ui"]);
mkdirSync("dist/panel", { recursive: true });

// Local-only secrets for wrangler dev; a deploy uses `wrangler secret put` instead.
// Secrets added later are appended to an existing .dev.vars; values already there are kept.
const LOCAL_SECRETS = { TOTP_ENCRYPTION_KEY: LOCAL_TOTP_KEY, AUDIT_CHECKPOINT_KEY: LOCAL_AUDIT_CHECKPOINT_KEY };
let devVars = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "# Local development only. Never use these values in production.\n";
for (const [name, value] of Object.entries(LOCAL_SECRETS)) {
  if (!new RegExp(`^${name}=`, "m").test(devVars)) devVars += `${devVars.endsWith("\n") ? "" : "\n"}${name}=${value}\n`;
}
writeFileSync(".dev.vars", devVars);

run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", ...persistArgs]);
mkdirSync(".wrangler", { recursive: true });
writeFileSync(".wrangler/demo-seed.sql", await demoSeedSql());
run("npx", ["wrangler", "d1", "execute", "DB", "--local", "--file", ".wrangler/demo-seed.sql", ...persistArgs]);

console.log(`\nGatehouse on http://localhost:${port}${gatehousePath()}/  (demo users: README "Demo data")\n`);
const extra = process.env.GATEHOUSE_QUIET === "1" ? ["--log-level", "error"] : [];
const dev = spawn("npx", ["wrangler", "dev", "--port", port, "--ip", "127.0.0.1", ...persistArgs, ...extra], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));
