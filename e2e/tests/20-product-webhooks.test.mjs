// Product webhooks, end to end on `npm start`: the demo product (examples/acme-notes) behind
// Gatehouse receives the events of its tenant through the app's own queue consumer, verifies
// them with @gatehouse/product, and shows the latest on /app to that tenant's members.
import { after, before, test } from "node:test";
import { assertClean, launch, newPage, signIn } from "../lib/browser.mjs";
import { panel, usersOf } from "../lib/env.mjs";

const USERS = usersOf(import.meta.url);

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Reloads /app (polling, at most `ms`) until its list of Gatehouse's events names `type`. */
async function eventShown(page, type, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    await page.goto("/app");
    const list = page.locator("#events");
    if ((await list.count()) > 0 && (await list.innerText()).includes(type)) return;
    if (Date.now() > until) throw new Error(`/app never showed a ${type} event`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test("the demo product receives its tenant's webhooks, verified, and shows them on /app", async () => {
  const { page, problems, context } = await newPage(browser);
  await signIn(page, USERS.bob);
  await page.goto("/app");
  await page.getByRole("heading", { name: `Hello, ${USERS.bob.name}` }).waitFor();
  // The sign-in's session, delivered after the answer (the tenant's object, the queue, the product).
  await eventShown(page, "session.created");
  // A profile change made in Gatehouse reaches the product as user.updated.
  const status = await page.evaluate(
    async (url) => (await fetch(url, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ displayName: "Bob Hooked" }) })).status,
    panel("/api/account/profile"),
  );
  if (status !== 200) throw new Error(`the profile change answered ${status}`);
  await eventShown(page, "user.updated");
  assertClean(problems);
  await context.close();
});
