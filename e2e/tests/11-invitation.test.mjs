// Invitations: an admin invites a colleague from the Team page, the link is opened in a
// fresh browser where the invitee chooses a name and password and lands signed in; a third
// browser then signs in with that password. The operator command creates a tenant whose
// first owner joins the same way.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { assertClean, gotoNav, launch, newPage, shot, signIn } from "../lib/browser.mjs";
import { BASE_URL, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

const NEW_PASSWORD = "violet harbour lanterns at dusk";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/**
 * Opens an invitation link in a fresh browser, joins, and waits until signed in: on the
 * sessions page, or (`owner`) on two-factor set-up, where a new owner is asked to start.
 */
async function join(link, name, { owner = false } = {}) {
  const invitee = await newPage(browser);
  await invitee.page.goto(link);
  await invitee.page.getByRole("heading", { level: 1, name: /^Join / }).waitFor();
  await invitee.page.getByLabel("Your name").fill(name);
  await invitee.page.getByLabel("Choose a password").fill("too short");
  await invitee.page.getByRole("button", { name: "Join and sign in" }).click();
  await invitee.page.getByText("Use at least 15 characters").waitFor();
  await invitee.page.getByLabel("Choose a password").fill(NEW_PASSWORD);
  await invitee.page.getByRole("button", { name: "Join and sign in" }).click();
  if (owner) {
    await invitee.page.waitForURL("**/security/two-factor?welcome=owner");
    await invitee.page.getByText("As an owner you can change everyone's access, so set up a second factor now").waitFor();
    return invitee;
  }
  await invitee.page.waitForURL("**/security/sessions");
  await invitee.page.getByRole("heading", { level: 1, name: "Active sessions" }).waitFor();
  return invitee;
}

test("an invited colleague joins from the link in a fresh browser, then signs in with their password", async () => {
  const email = `newcomer-${Date.now()}@acme.test`;
  const admin = await newPage(browser);
  await signIn(admin.page, USERS.dave);
  await gotoNav(admin.page, "Team");
  const invitations = admin.page.locator("section", { has: admin.page.getByRole("heading", { name: /Invitations/ }) });
  await invitations.getByLabel("Email address").fill(email);
  await invitations.getByLabel("Role").selectOption("member");
  await invitations.getByRole("button", { name: "Invite" }).click();
  const linkField = invitations.getByLabel("Invitation link");
  await linkField.waitFor();
  const link = await linkField.inputValue();
  assert.match(link, /\/accept-invitation\?token=inv_/);
  await invitations.locator("li.member", { hasText: email }).getByText("pending").waitFor();
  await shot(admin.page, "team-invitations");

  const invitee = await join(link, "Nadia Newcomer");
  await shot(invitee.page, "invitation-joined");

  // The link worked once: opening it again says so at once, before anything is typed.
  const again = await newPage(browser);
  await again.page.goto(link);
  await again.page.getByText("This invitation was already used").waitFor();
  assert.equal(await again.page.getByLabel("Your name").count(), 0, "no form for a used link");
  await shot(again.page, "invitation-used");

  const later = await newPage(browser);
  await signIn(later.page, { email, totp: null }, { password: NEW_PASSWORD });

  for (const p of [admin, invitee, again, later]) {
    assertClean(p.problems);
    await p.context.close();
  }
});

test("the operator command creates a tenant whose first owner joins through the printed link", async () => {
  const slug = `e2e-${Date.now().toString(36)}`;
  const owner = `owner@${slug}.test`;
  const cli = spawnSync(process.execPath, ["scripts/gatehouse.mjs", "tenant", "create", "--name", "E2E Corp", "--slug", slug, "--owner", owner], {
    encoding: "utf8",
    env: { ...process.env, PORT: new URL(BASE_URL).port },
  });
  assert.equal(cli.status, 0, cli.stderr);
  const link = /https?:\/\/\S+\/accept-invitation\?token=\S+/.exec(cli.stdout)?.[0];
  assert.ok(link, `no invitation link printed:\n${cli.stdout}`);
  const invitee = await join(link, "Olga Owner", { owner: true });
  await shot(invitee.page, "invitation-owner-two-factor");

  await gotoNav(invitee.page, "Team");
  await invitee.page.locator("li.member", { hasText: owner }).getByText("You").waitFor();
  assertClean(invitee.problems);
  await invitee.context.close();
  // The sole owner forgets their password: the operator's command issues them a reset link.
  const tenantId = /id (ten_\S+?)\./.exec(cli.stdout)?.[1];
  const reset = spawnSync(process.execPath, ["scripts/gatehouse.mjs", "tenant", "owner-reset", tenantId, "--email", owner], {
    encoding: "utf8",
    env: { ...process.env, PORT: new URL(BASE_URL).port },
  });
  assert.equal(reset.status, 0, reset.stderr);
  const resetLink = /https?:\/\/\S+\/reset-password\?token=\S+/.exec(reset.stdout)?.[0];
  assert.ok(resetLink, `no reset link printed:\n${reset.stdout}`);
  const back = await newPage(browser);
  await back.page.goto(resetLink);
  await back.page.getByLabel("New password").fill("quiet orchards under winter stars");
  await back.page.getByRole("button", { name: "Set password" }).click();
  await back.page.getByText("Your password was changed").waitFor();
  await signIn(back.page, { email: owner, totp: null }, { password: "quiet orchards under winter stars" });
  assertClean(back.problems);
  await back.context.close();
});
