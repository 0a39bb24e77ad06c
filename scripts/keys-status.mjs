// `npm run keys:status [-- --remote] [-- --env <name>] [-- --persist-to <dir>]`: which keys
// the data in D1 still needs. Counts TOTP secrets (enabled and pending) and single sign-on
// client secrets by the key id they are sealed under, and retention checkpoints by the key id of their MAC. After a rotation,
// a previous key may leave its set once no row names it any more (the scheduled run and
// each successful use move rows to the current key; src/key-rotation.ts). `k0` is the id
// of a bare key, and of everything made before key ids existed. Reads only; local by
// default, --remote for the deployed database.
import { wranglerSync } from "./wrangler.mjs";

const USAGE = "usage: node scripts/keys-status.mjs [--remote] [--env <name>] [--persist-to <dir>]";
const args = process.argv.slice(2);
const scope = [];
let remote = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--remote") remote = true;
  else if (args[i] === "--local") remote = false;
  else if ((args[i] === "--env" || args[i] === "--persist-to") && args[i + 1]) scope.push(args[i], args[++i]);
  else {
    console.error(`keys-status: unknown argument ${args[i]}\n${USAGE}`);
    process.exit(2);
  }
}
if (!scope.includes("--env")) scope.push("--env=");

// The key id a row names, in SQL, following splitKeyId in src/lib/key-set.ts (the rule's
// owner): `v2.<keyId>.<iv>.<ct>` / `v1.<iv>.<ct>` (k0) for secrets, `<keyId>.<mac>` / `<mac>` (k0) for MACs.
const keyIdOfSealed = (col) =>
  `CASE WHEN ${col} LIKE 'v2.%' THEN substr(${col}, 4, instr(substr(${col}, 4), '.') - 1) WHEN ${col} LIKE 'v1.%' THEN 'k0' ELSE '(unknown format)' END`;
const SQL = [
  `SELECT 'TOTP_ENCRYPTION_KEY' AS secret, 'TOTP secrets' AS what, ${keyIdOfSealed("s")} AS keyId, count(*) AS count`,
  "FROM (SELECT totp_secret_enc AS s FROM users WHERE totp_secret_enc IS NOT NULL",
  "UNION ALL SELECT totp_pending_secret_enc FROM users WHERE totp_pending_secret_enc IS NOT NULL) GROUP BY keyId",
  "UNION ALL",
  `SELECT 'TOTP_ENCRYPTION_KEY', 'SSO client secrets', ${keyIdOfSealed("client_secret_enc")} AS keyId, count(*) FROM sso_connections GROUP BY keyId`,
  "UNION ALL",
  `SELECT 'TOTP_ENCRYPTION_KEY', 'audit stream tokens', ${keyIdOfSealed("token_enc")} AS keyId, count(*) FROM audit_streams GROUP BY keyId`,
  "UNION ALL",
  "SELECT 'AUDIT_CHECKPOINT_KEY', 'retention checkpoints', CASE WHEN instr(mac, '.') > 0 THEN substr(mac, 1, instr(mac, '.') - 1) ELSE 'k0' END AS keyId, count(*)",
  "FROM audit_checkpoints WHERE mac IS NOT NULL GROUP BY keyId",
].join(" ");

process.env.WRANGLER_SEND_METRICS ??= "false";
const res = wranglerSync(["d1", "execute", "DB", remote ? "--remote" : "--local", ...scope, "--json", "--command", SQL], {
  encoding: "utf8",
  maxBuffer: 64 * 1024 * 1024,
});
if (res.status !== 0) {
  console.error(`keys-status: wrangler d1 execute failed (exit ${res.status ?? res.signal})\n${res.stdout}\n${res.stderr}`);
  process.exit(1);
}
const rows = JSON.parse(res.stdout.slice(res.stdout.indexOf("[")))[0]?.results ?? [];
if (rows.length === 0) console.log("No TOTP secret or checkpoint in D1: every previous key can go.");
for (const row of rows) console.log(`${row.secret.padEnd(21)} ${String(row.keyId).padEnd(18)} ${String(row.count).padStart(8)} ${row.what}`);
