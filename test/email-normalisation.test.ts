import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { failedWith } from "../src/db/errors";
import { users } from "../src/db/schema";
import { randomId } from "../src/lib/crypto";
import { normalizeEmail } from "../src/lib/email";
import { Harness, START_MS, seedTenant } from "./helpers";

/** The constraint D1 named when it refused the write (drizzle keeps D1's error as the cause). */
async function refusedBy(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    return failedWith(err, /CHECK constraint failed: (\w+)/) ? String((err as Error).cause ?? err) : `other: ${String(err)}`;
  }
  return "accepted";
}

const userRow = (tenantId: string, overrides: Record<string, unknown>) => ({
  id: randomId("usr_"),
  tenantId,
  email: `${randomId("x")}@check.test`,
  displayName: "Row",
  role: "member" as const,
  passwordHash: "pbkdf2_sha256$1$AA$AA",
  createdAt: START_MS,
  ...overrides,
});

describe("emails are normalised on every write and lookup", () => {
  it("normalizeEmail trims and lower-cases", () => {
    expect(normalizeEmail("  Alice.Smith@ACME.Test \n")).toBe("alice.smith@acme.test");
  });

  it("sign-in finds the account whatever the case and surrounding spaces of the typed email", async () => {
    const h = new Harness();
    const t = await seedTenant("norm", { totp: false });
    const signedIn = await h.login(`  ${t.member.email.toUpperCase()} `);
    expect(signedIn.userId).toBe(t.member.id);
  });
});

describe("the schema constrains what D1 accepts", () => {
  it("a user row with an unknown role is refused by D1", async () => {
    const t = await seedTenant("check");
    const db = createDb(env.DB);
    expect(await refusedBy(db.insert(users).values(userRow(t.id, { role: "superadmin" as "member" })))).toMatch(/users_role_known/);
  });

  it("a user row whose email is not trimmed and lower-case is refused by D1", async () => {
    const t = await seedTenant("check");
    const db = createDb(env.DB);
    expect(await refusedBy(db.insert(users).values(userRow(t.id, { email: "Mixed@Case.test" })))).toMatch(/users_email_normalised/);
    expect(await refusedBy(db.insert(users).values(userRow(t.id, { email: " space@case.test" })))).toMatch(/users_email_normalised/);
    expect(await refusedBy(db.insert(users).values(userRow(t.id, {})))).toBe("accepted");
  });
});
