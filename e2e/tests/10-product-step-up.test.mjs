// Step-up for the product's own actions: on the demo, deleting a note (a STEP_UP_ROUTES
// route needing NOTE_DELETE) opens Gatehouse's step-up dialog over the product page
// (client.js framing the panel's step-up page); once verified, the delete is retried by
// itself. The product records it through the RPC entrypoint, and the panel's audit page
// shows it by its own name, with the real admin while impersonating.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertClean, exitImpersonation, launch, newPage, shot, signIn, startImpersonation } from "../lib/browser.mjs";
import { usersOf, freshTotp, panel } from "../lib/env.mjs";
import { auditRows } from "../lib/audit.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const DIALOG_FRAME = 'iframe[title="Confirm it\'s you"]';

/** Adds a note on /app and returns its list item. */
async function addNote(page, text) {
  await page.getByLabel("New note").fill(text);
  await page.getByRole("button", { name: "Add note", exact: true }).click();
  const item = page.locator("#notes li", { hasText: text });
  await item.waitFor();
  return item;
}

/** Clicks Delete, verifies in the framed dialog with `user`'s TOTP, and waits for the note to go. */
async function deleteWithStepUp(page, item, text, user, screenshot) {
  await item.getByRole("button", { name: `Delete note: ${text}` }).click();
  const dialog = page.frameLocator(DIALOG_FRAME).getByRole("dialog", { name: "Confirm it's you" });
  await dialog.waitFor();
  // The purpose's label comes from Gatehouse's configuration, not from the product page.
  assert.match(await dialog.innerText(), /To delete a note in Acme on Acme Notes, verify your identity/);
  const code = dialog.getByLabel("Authentication code");
  await code.waitFor();
  if (screenshot) await shot(page, screenshot, { fullPage: false });
  await code.fill(await freshTotp(user.totp));
  await dialog.getByRole("button", { name: "Verify" }).click();
  // No second click: the client module retried the DELETE once verified.
  await item.waitFor({ state: "detached" });
  await page.locator(DIALOG_FRAME).waitFor({ state: "detached" });
  // The product says it was done.
  await page.locator("#status").getByText("Note deleted.").waitFor();
  assert.equal(await page.locator("#error").innerText(), "");
}

async function openPanel(page) {
  await page.goto(panel("/security/sessions"));
  await page.getByRole("heading", { level: 1, name: "Active sessions" }).waitFor();
}

test("deleting a note asks for step-up over the product page; verified with TOTP, the note is gone without another click and audited", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.alice);
  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.alice.name}` }).waitFor();
  const text = "Board minutes, draft 2";
  const item = await addNote(page, text);
  await deleteWithStepUp(page, item, text, USERS.alice, "product-step-up-dialog");
  // Gone on the product's side too, not only from the page.
  const left = await page.evaluate(async () => (await (await fetch("/api/notes")).json()).notes.map((n) => n.text));
  assert.ok(!left.includes(text), `the product still lists the note: ${JSON.stringify(left)}`);

  await openPanel(page);
  const deleted = await auditRows(page, { action: "app.note.deleted" });
  assert.equal(deleted[0]?.action, "app.note.deleted");
  assert.equal(deleted[0]?.outcome, "SUCCESS");
  assert.match(deleted[0]?.actor ?? "", new RegExp(USERS.alice.name));
  const created = await auditRows(page, { action: "app.note.created" });
  assert.equal(created[0]?.outcome, "SUCCESS");
  await page.getByRole("status").filter({ hasText: "Hash chain intact" }).waitFor();
  await shot(page, "product-audit");
  assertClean(problems);
  await context.close();
});

test("an admin impersonating a member deletes the member's note with the admin's own step-up; the audit page names the real admin", async () => {
  const { page, problems, context } = await newPage(browser);
  // Dave, an admin, outranks Bob, a member. He verifies three times in a row (sign-in, the
  // impersonation, the delete), so his third code may wait for the authenticator's next step.
  await signIn(page, USERS.dave);
  await startImpersonation(page, USERS.dave, USERS.bob, "Support ticket 91: note will not delete");

  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  const text = "Bob's stuck note";
  const item = await addNote(page, text);
  await deleteWithStepUp(page, item, text, USERS.dave);

  // Back in the panel: end the impersonation, then read the log as Dave.
  await openPanel(page);
  await exitImpersonation(page, USERS.dave);

  const rows = await auditRows(page, { action: "app.note.deleted" });
  assert.equal(rows[0]?.outcome, "SUCCESS");
  assert.match(rows[0]?.actor ?? "", new RegExp(`${USERS.bob.name}.*via.*${USERS.dave.name}`));
  await page.getByRole("status").filter({ hasText: "Hash chain intact" }).waitFor();
  assertClean(problems);
  await context.close();
});
