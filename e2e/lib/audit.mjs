// Reads the audit page the way a person would: filter, apply, read the rows.
import { gotoNav } from "./browser.mjs";
import { panel } from "./env.mjs";

export async function auditRows(page, { action = "", outcome = "" } = {}) {
  await gotoNav(page, "Audit log");
  await page.getByLabel("Action").selectOption(action);
  await page.getByLabel("Outcome").selectOption(outcome);
  // Wait for this query's answer: rows from the previous filter are still on screen until then.
  await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === panel("/api/audit-logs") && r.ok(), { timeout: 10_000 }),
    page.getByRole("button", { name: "Apply filters" }).click(),
  ]);
  await page.getByRole("status").filter({ hasText: "Loading…" }).waitFor({ state: "detached" });
  const table = page.locator("table.audit-table tbody tr.audit-row");
  await table.first().waitFor({ timeout: 10_000 });
  return table.evaluateAll((trs) =>
    trs.map((tr) => ({
      action: tr.getAttribute("data-action"),
      outcome: tr.getAttribute("data-outcome"),
      actor: tr.children[1]?.textContent ?? "",
      target: tr.children[4]?.textContent ?? "",
    })),
  );
}
