// `npm run gatehouse -- <command>`: the operator's command line, a client of the worker's
// operator API (src/operator). No SQL and no password ever pass through it: a new tenant's
// first owner gets an invitation link and sets their own password.
//
//   tenant create --name "Acme" --slug acme --owner alice@acme.test [--remote]
//   tenant list [--remote]
//   tenant disable <tenant id> [--remote]
//   tenant owner-reset <tenant id> --email owner@acme.test [--remote]
//   audit migrate [--limit 50] [--remote]      (also: npm run audit:migrate [-- --remote])
//
// owner-reset: a password reset link for a tenant's sole owner, who has nobody in the tenant
// to ask (with another enabled owner, that owner issues it from the Team page). Audited in
// the tenant's log (PASSWORD_RESET_REQUESTED, via operator); the owner's sessions end.
//
// audit migrate: moves the audit rows D1 still holds from before the upgrade into their
// tenants' objects, asking the worker for up to --limit tenants a call (at most 50) until
// none are left, each tenant's chain verified in its object after its move. It stops
// (exit 1) at the first tenant whose chain does not verify, naming it and its first broken
// seq, or whose object cannot be reached. Run it again at any point: what moved stays moved.
//
// Where: the local dev worker (`npm start`, http://localhost:$PORT) by default; with
// --remote, the deployed worker at GATEHOUSE_URL (https://…). The token: OPERATOR_TOKEN
// from the environment (never an argument, so it stays out of shell history); locally,
// if unset, the local-only one `npm start` wrote to .dev.vars.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gatehousePath } from "./gatehouse-path.mjs";

const USAGE = `Usage:
  npm run gatehouse -- tenant create --name "Acme" --slug acme --owner alice@acme.test [--remote]
  npm run gatehouse -- tenant list [--remote]
  npm run gatehouse -- tenant disable <tenant id> [--remote]
  npm run gatehouse -- tenant owner-reset <tenant id> --email owner@acme.test [--remote]
  npm run gatehouse -- audit migrate [--limit 50] [--remote]   (or npm run audit:migrate [-- --remote])

The operator token is read from OPERATOR_TOKEN in the environment (locally, from .dev.vars
if unset). --remote talks to GATEHOUSE_URL (the deployed worker, https://...).`;

function fail(message) {
  console.error(`gatehouse: ${message}\n\n${USAGE}`);
  process.exit(1);
}

/** Stops on a finding, not a usage error: the usage is not printed. */
function stop(message) {
  console.error(`gatehouse: ${message}`);
  process.exit(1);
}

function localToken() {
  if (!existsSync(".dev.vars")) return undefined;
  return /^OPERATOR_TOKEN=(.+)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1]?.trim();
}

function target(remote) {
  if (!remote) return { base: `http://localhost:${process.env.PORT ?? "8787"}`, token: process.env.OPERATOR_TOKEN || localToken() };
  const url = process.env.GATEHOUSE_URL;
  if (!url) fail("--remote needs GATEHOUSE_URL, the deployed worker's address (e.g. https://gatehouse.example.com)");
  if (!url.startsWith("https://")) fail("GATEHOUSE_URL must be https://");
  return { base: url.replace(/\/+$/, ""), token: process.env.OPERATOR_TOKEN };
}

async function call(where, method, path, body) {
  if (!where.token) fail("set OPERATOR_TOKEN in the environment (e.g. read -rs OPERATOR_TOKEN && export OPERATOR_TOKEN)");
  const url = `${where.base}${gatehousePath()}/api/operator${path}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${where.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    fail(`cannot reach ${where.base} (${err.cause?.code ?? err.message}); is the worker running (npm start)?`);
  }
  const data = await res.json().catch(() => ({}));
  // Without the right token the operator API answers as an unknown API path: 401 to a request without a session (as this one).
  if ((res.status === 401 && data.error === "UNAUTHORIZED") || (res.status === 404 && data.error === "NOT_FOUND")) {
    fail(`the operator API answered as an unknown path (${res.status}): OPERATOR_TOKEN is not set on the worker, or the token you sent is not it`);
  }
  if (!res.ok) fail(`${res.status} ${data.error ?? ""}: ${data.message ?? "request refused"}`);
  return data;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    slug: { type: "string" },
    owner: { type: "string" },
    email: { type: "string" },
    limit: { type: "string" },
    remote: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
const [noun, verb, arg] = positionals;
if (values.help || (noun !== "tenant" && noun !== "audit")) fail(values.help ? "help" : `unknown command ${JSON.stringify(positionals.join(" "))}`);
const where = target(values.remote);

/** Calls the migration until D1 holds no audit row from before the upgrade; stops at the first chain that does not verify. */
async function migrateAudit() {
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 50)) fail("--limit is a whole number of tenants from 1 to 50");
  let tenantsMoved = 0;
  let rowsBefore = Number.POSITIVE_INFINITY;
  for (;;) {
    const { moved, unavailable, left, more } = await call(where, "POST", "/audit/migrate", limit === undefined ? {} : { limit });
    for (const { tenantId, verify } of moved) {
      const range = `${verify.checked} row(s) checked, seq ${verify.fromSeq + 1}-${verify.headSeq}`;
      console.log(`${tenantId}  ${verify.ok ? `moved, chain verifies (${range})` : `moved, chain BROKEN at seq ${verify.firstBrokenSeq} (${verify.reason})`}`);
    }
    tenantsMoved += moved.length;
    const broken = moved.find((t) => !t.verify.ok);
    if (broken) {
      stop(
        `tenant ${broken.tenantId}'s audit chain does not verify after its move: first broken at seq ${broken.verify.firstBrokenSeq} (${broken.verify.reason}). ` +
          "Its rows are in its object as D1 held them (the break came with them); its admins see the same on their Audit log page. " +
          `Stopped with ${left.rows} row(s) of ${left.tenants} tenant(s) still in D1: run again to move the rest.`,
      );
    }
    if (unavailable) stop(`tenant ${unavailable}'s object could not import its rows (see the worker's log); nothing is lost: run again to resume. ${left.rows} row(s) of ${left.tenants} tenant(s) still in D1.`);
    if (!more) break;
    console.log(`… ${left.rows} row(s) of ${left.tenants} tenant(s) still in D1`);
    if (left.rows >= rowsBefore) stop(`no progress: D1 still holds ${left.rows} row(s) after a call; see the worker's log, then run again`);
    rowsBefore = left.rows;
  }
  console.log(
    tenantsMoved === 0
      ? "Nothing to move: D1 holds no audit rows from before the upgrade."
      : `Done: ${tenantsMoved} tenant(s) moved, each one's chain verifying in its object; D1 holds no audit rows from before the upgrade.`,
  );
}

if (noun === "audit") {
  if (verb !== "migrate") fail(`unknown command "audit ${verb ?? ""}"`);
  await migrateAudit();
} else if (verb === "create") {
  if (!values.name || !values.slug || !values.owner) fail("tenant create needs --name, --slug and --owner");
  const { tenant, invitationLink, emailed } = await call(where, "POST", "/tenants", { name: values.name, slug: values.slug, ownerEmail: values.owner });
  console.log(`Created tenant ${tenant.name} (${tenant.slug}), id ${tenant.id}.`);
  console.log(`\nInvitation for its first owner ${values.owner.trim().toLowerCase()} (valid 7 days, single use${emailed ? ", also sent through the email hook" : ""}):\n\n  ${invitationLink}\n`);
  console.log("Open it (or send it to them) to set a display name and password and sign in as the owner.");
} else if (verb === "list") {
  const { tenants } = await call(where, "GET", "/tenants");
  if (tenants.length === 0) console.log("No tenants yet: npm run gatehouse -- tenant create --name … --slug … --owner …");
  for (const t of tenants) console.log(`${t.id}  ${t.slug.padEnd(20)} ${String(t.members).padStart(4)} member(s)  ${t.disabledAt ? `disabled ${t.disabledAt}` : "active"}  ${t.name}`);
} else if (verb === "disable") {
  if (!arg) fail("tenant disable needs the tenant's id (see tenant list)");
  const { tenant, endedSessions } = await call(where, "POST", `/tenants/${encodeURIComponent(arg)}/disable`, {});
  console.log(`Disabled ${tenant.name} (${tenant.slug}): ${endedSessions} session(s) ended; its users can no longer sign in.`);
} else if (verb === "owner-reset") {
  if (!arg || !values.email) fail("tenant owner-reset needs the tenant's id (see tenant list) and --email of its sole owner");
  const { link, expiresAt, emailed, revoked } = await call(where, "POST", `/tenants/${encodeURIComponent(arg)}/owner-reset`, { email: values.email });
  console.log(`Password reset link for ${values.email.trim().toLowerCase()} (single use, until ${expiresAt}${emailed ? "; also sent through the email hook" : ""}); ${revoked} session(s) ended:\n\n  ${link}\n`);
  console.log("Give it to the owner yourself, over a channel you trust: whoever opens it sets the password.");
} else {
  fail(`unknown command "tenant ${verb ?? ""}"`);
}
