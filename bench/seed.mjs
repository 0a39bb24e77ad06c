// Bulk data for the benchmark, written straight to local D1 with `wrangler d1 execute`
// (never through the API: a million audit rows through HTTP would take hours).
// Rows are generated inside SQLite by recursive CTEs, so the SQL file stays tiny and a
// million rows is one statement instead of a million literals.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoSeedSql } from "../scripts/demo-data.mjs";

const TENANT = "ten_acme"; // the demo tenant alice (owner) signs in to
const BENCH_TENANTS = 50;
const BENCH_USERS = 1000; // fixed, so between sizes only the sessions table grows
const ALICE_SESSIONS = 20; // what alice's session list shows, the same at every size
const UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const HOUR = 3_600_000;
const LAST_SEEN_REFRESH_S = 120; // LAST_SEEN_REFRESH_SECONDS in src/sessions/config.ts

/** `WITH RECURSIVE n(i)` counting 1..count: the row source of every bulk INSERT below. */
const upTo = (count) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})`;

/**
 * 50 IP rules on alice's tenant that all stay in effect and let loopback in: an allow
 * list (127.0.0.0/8, ::1 and some office ranges) plus deny rules for other ranges, so
 * the check walks several prefix lengths like a real tenant's set would.
 */
function ipRulesSql(count, now) {
  const rows = [`('iprb_lo4', '${TENANT}', 'allow', '127.0.0.0/8', 'loopback (bench client)', 'usr_alice', ${now}, ${now}, NULL)`];
  rows.push(`('iprb_lo6', '${TENANT}', 'allow', '::1/128', 'loopback (bench client)', 'usr_alice', ${now}, ${now}, NULL)`);
  for (let i = 0; rows.length < count; i++) {
    const [action, cidr] =
      i % 4 === 0 ? ["allow", `198.51.${i}.0/24`]
      : i % 4 === 1 ? ["deny", `203.0.${i}.${i % 256}/32`]
      : i % 4 === 2 ? ["deny", `10.${i}.0.0/16`]
      : ["deny", `2001:db8:${i.toString(16)}::/48`];
    rows.push(`('iprb_${i}', '${TENANT}', '${action}', '${cidr}', 'bench rule ${i}', 'usr_alice', ${now}, ${now}, NULL)`);
  }
  return `INSERT INTO ip_rules (id, tenant_id, action, cidr, description, created_by, created_at, updated_at, expires_at) VALUES\n${rows.join(",\n")};`;
}

/**
 * Alice's tenant's audit rows `from`..`to` of `total`: a dense seq, one a second up to `now`
 * (the chain need not verify, only be well formed). The same statement fills D1's legacy
 * `audit_logs` and the tenant object's own (src/tenant-object/audit-store.ts: the same
 * columns).
 */
export function auditSeedSql(from, to, total, now) {
  return `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
    INSERT INTO audit_logs (id, tenant_id, actor_user_id, action, outcome, target_type, target_id, ip, user_agent, request_id, created_at, seq, prev_hash, hash, metadata)
      SELECT printf('aud_b%08d', i), '${TENANT}', CASE i % 3 WHEN 0 THEN 'usr_alice' WHEN 1 THEN 'usr_dave' ELSE 'usr_bob' END,
        CASE i % 5 WHEN 0 THEN 'LOGIN_SUCCEEDED' WHEN 1 THEN 'SESSION_CREATED' WHEN 2 THEN 'LOGIN_FAILED' WHEN 3 THEN 'STEP_UP_VERIFIED' ELSE 'SESSION_REVOKED' END,
        CASE i % 5 WHEN 2 THEN 'FAIL' ELSE 'SUCCESS' END, 'session', printf('sb%08d', i), '203.0.113.' || (i % 250), '${UA}', printf('req%010d', i),
        ${now} - (${total} - i) * 1000, i, printf('%064x', i - 1), printf('%064x', i), '{"bench":true}' FROM n;`;
}

/** SQL for one size: synthetic tenants and users, `sessions` sessions, `auditRows` audit rows. */
export function bulkSeedSql({ sessions, auditRows, auditIn = "d1", ipRules, now }) {
  const other = sessions - ALICE_SESSIONS;
  return [
    `${upTo(BENCH_TENANTS)} INSERT INTO tenants (id, name, slug, created_at) SELECT printf('ten_b%04d', i), 'Bench ' || i, 'bench-' || i, ${now} FROM n;`,
    `${upTo(BENCH_USERS)} INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, session_version, created_at)
      SELECT printf('usr_b%06d', i), printf('ten_b%04d', i % ${BENCH_TENANTS} + 1), printf('u%06d@bench.test', i), 'Bench user ' || i, 'member', 'unusable', 1, ${now} FROM n;`,
    // Alice's own sessions: all live, so her list has the same rows at every size.
    `${upTo(ALICE_SESSIONS)} INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, ip, user_agent)
      SELECT printf('sbalice%04d', i), '${TENANT}', 'usr_alice', printf('%064x', i), 1, ${now} - i * ${HOUR}, ${now} - i * 60000, ${now} + 20 * ${HOUR},
        '198.51.100.' || i, '${UA}' FROM n;`,
    // Everyone else's: a third expired, a tenth revoked, the rest live (what a real table holds).
    `${upTo(other)} INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at, revoke_reason)
      SELECT printf('sb%08d', i), printf('ten_b%04d', (i % ${BENCH_USERS} + 1) % ${BENCH_TENANTS} + 1), printf('usr_b%06d', i % ${BENCH_USERS} + 1), printf('%064x', i), 1,
        ${now} - (i % 72) * ${HOUR}, ${now} - (i % 3600) * 1000,
        CASE WHEN i % 3 = 0 THEN ${now} - ${HOUR} ELSE ${now} + 12 * ${HOUR} END,
        '203.0.113.' || (i % 250), '${UA}',
        CASE WHEN i % 10 = 0 THEN ${now} - 60000 END, CASE WHEN i % 10 = 0 THEN 'REVOKED' END FROM n;`,
    // Alice's tenant's audit log, in D1's audit_logs as before the chain moved into the tenant's
    // object: the object's first drain imports it (src/tenant-object/audit-drain.ts; bench/run.mjs
    // waits for that). Or none here: bench/run.mjs puts it in the object itself (auditIn "object").
    auditIn === "d1" ? auditSeedSql(1, auditRows, auditRows, now) : "",
    ipRulesSql(ipRules, now),
  ].join("\n");
}

/**
 * `count` live sessions of bob (member of the same tenant, so the same 50 rules apply),
 * with cookies the bench can replay: many distinct sessions is what a busy isolate
 * sees, and what an in-isolate cache of one session cannot make cheap.
 * Tokens as src/sessions/token.ts makes them: `<id>.<43-char secret>`, D1 keeps SHA-256 hex of the secret.
 */
export function bobSessions(count, now) {
  const cookies = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const id = `sbbob${String(i).padStart(6, "0")}`;
    const secret = createHash("sha256").update(`gatehouse-bench-${i}`).digest("base64url");
    const tokenHash = createHash("sha256").update(secret).digest("hex");
    cookies.push(`__Host-gatehouse_session=${id}.${secret}`);
    // last_seen_at spread over the 120 s refresh period: the refreshes (a D1 write each) then
    // come at the steady rate of sessions in constant use, not all at once mid-run.
    const lastSeen = now - (i % LAST_SEEN_REFRESH_S) * 1000;
    rows.push(`('${id}', '${TENANT}', 'usr_bob', '${tokenHash}', 1, ${now}, ${lastSeen}, ${now + 20 * HOUR}, '203.0.113.7', '${UA}')`);
  }
  const inserts = [];
  // D1 refuses statements over 100 kB: 200 rows (~60 kB) per INSERT.
  for (let i = 0; i < rows.length; i += 200) {
    inserts.push(`INSERT INTO user_sessions (id, tenant_id, user_id, token_hash, session_version, created_at, last_seen_at, expires_at, ip, user_agent) VALUES\n${rows.slice(i, i + 200).join(",\n")};`);
  }
  return { sql: inserts.join("\n"), cookies };
}

function wrangler(cwd, args) {
  const res = spawnSync("npx", ["wrangler", ...args], { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (res.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
}

/**
 * Fresh local state in `persistTo` for the app in `appDir`: migrations, the demo data (the same SQL `npm start`
 * runs; it is idempotent, so its second run there is a no-op), then the bulk rows.
 * Returns the seconds the bulk insert took and the cookies of bob's `bobSessions` sessions.
 */
export async function seedState(appDir, persistTo, size) {
  const now = Date.now();
  const bob = bobSessions(size.bobSessions ?? 0, now);
  const seconds = await seedWith(appDir, persistTo, `${bulkSeedSql({ ...size, now })}\n${bob.sql}\n`);
  return { seconds, cookies: bob.cookies, seededAt: now };
}

/**
 * Fresh local state in `persistTo` for the app in `appDir`: migrations, the demo data, then
 * `sql`. Returns the seconds the insert of demo data and `sql` took.
 */
export async function seedWith(appDir, persistTo, sql) {
  const persist = ["--local", "--persist-to", persistTo];
  wrangler(appDir, ["d1", "migrations", "apply", "DB", ...persist]);
  const file = join(persistTo, "bench-seed.sql");
  writeFileSync(file, `${await demoSeedSql()}${sql}`);
  const started = performance.now();
  wrangler(appDir, ["d1", "execute", "DB", ...persist, "--file", file]);
  return (performance.now() - started) / 1000;
}
