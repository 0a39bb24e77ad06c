// The audit stream: an owner points it at a receiver on this machine (http://127.0.0.1 is
// allowed there) with step-up, the app's own queue consumer delivers the tenant's chain, the
// receiver's copy verifies offline, and the page shows the state and pauses the stream.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { checkStreamCopy } from "../../scripts/audit-stream-check.mjs";
import { assertClean, gotoNav, launch, newPage, shot, signIn, stepUp } from "../lib/browser.mjs";
import { usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);
const TOKEN = "e2e-receiver-token-0123456789";

let browser;
let receiver;
const bodies = [];
const authorizations = new Set();

before(async () => {
  browser = await launch();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      bodies.push(body);
      authorizations.add(req.headers.authorization);
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});
after(async () => {
  await browser?.close();
  receiver?.close();
});

/** Waits (polling, at most `ms`) until `done()` holds. */
async function eventually(done, ms = 60_000) {
  const until = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > until) throw new Error("timed out waiting for the receiver");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test("an owner streams the audit log to a receiver, whose copy verifies, and pauses it", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.alice);
  await gotoNav(page, "Audit stream");
  const url = `http://127.0.0.1:${receiver.address().port}/ingest`;
  await page.getByLabel("Destination").selectOption("ndjson");
  await page.getByLabel("Endpoint URL").fill(url);
  await page.getByLabel("Bearer token").fill(TOKEN);
  await page.getByRole("button", { name: "Save" }).click();
  await stepUp(page, USERS.alice);
  await page.getByRole("heading", { name: /Any HTTPS endpoint/ }).waitFor();

  // The app's queue consumer delivers the chain: the save's own row included.
  await eventually(async () => bodies.join("").includes("AUDIT_STREAM_SAVED"));
  assert.deepEqual([...authorizations], [`Bearer ${TOKEN}`]);
  const verified = await checkStreamCopy(bodies);
  assert.equal(verified.ok, true, JSON.stringify(verified));
  assert.equal(verified.fromSeq, 1);

  await page.reload();
  await page.getByText(/event \d+ of \d+/).waitFor();
  await shot(page, "audit-stream");

  await page.getByRole("button", { name: "Pause" }).click();
  await page.getByRole("dialog", { name: "Pause the audit stream?" }).getByRole("button", { name: "Pause" }).click();
  await stepUp(page, USERS.alice);
  await page.getByText("Paused", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Resume" }).waitFor();
  assert.ok(!(await page.content()).includes(TOKEN), "the token is never on the page");
  assertClean(problems);
  await context.close();
});
