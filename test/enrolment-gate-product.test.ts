// A tenant that requires two-factor binds its product too: a member who has not enrolled
// is nobody to the product, through the gateway and through the RPC entrypoint alike
// (src/tenant/enrolment-gate.ts owns the rule).
import { beforeAll, describe, expect, it } from "vitest";
import { ENROLMENT_PAGE } from "../src/gateway/navigation";
import { FETCH, NAVIGATION, fakeOrigin, gatewayEnv, loadStepUpKeys } from "./gateway-step-up-fixtures";
import { type Harness, type SeededTenant, seedTenant } from "./helpers";
import { authenticate, realTimeHarness } from "./rpc-fixtures";

beforeAll(loadStepUpKeys);

/** The owner requires two-factor through the API, as the panel does. */
async function requireTwoFactor(h: Harness, t: SeededTenant) {
  const owner = await h.session(t.owner);
  await h.stepUp(owner.cookie, "TENANT_POLICY_CHANGE", t.owner);
  const res = await h.call("/api/tenant/policy", { cookie: owner.cookie, method: "PATCH", body: { requireTwoFactor: true } });
  expect(res.status).toBe(200);
  return owner;
}

describe("a member who must still enrol a second factor is nobody to the product", () => {
  it("through the gateway: a page load is sent to enrolment, a fetch is 403 MFA_ENROLLMENT_REQUIRED, and nothing reaches the origin", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("enrol-gw");
    const member = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    expect((await h.call("/app", { cookie: member.cookie, env: e, headers: NAVIGATION })).status).toBe(200);
    expect(origin.seen).toHaveLength(1);

    const owner = await requireTwoFactor(h, t);
    const page = await h.call("/app", { cookie: member.cookie, env: e, headers: NAVIGATION });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe(`/_gatehouse${ENROLMENT_PAGE}`);
    const fetched = await h.call("/v1/notes", { cookie: member.cookie, env: e, headers: FETCH });
    expect(fetched.status).toBe(403);
    expect(fetched.body.error).toBe("MFA_ENROLLMENT_REQUIRED");
    expect(origin.seen).toHaveLength(1);

    // The owner, enrolled, still reaches the product as themselves.
    expect((await h.call("/app", { cookie: owner.cookie, env: e, headers: NAVIGATION })).status).toBe(200);
    expect(origin.seen).toHaveLength(2);
  });

  it("through the gateway on a public path: the page is served, but with no assertion of who the member is", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("enrol-pub");
    const member = await h.login(t.member.email);
    const origin = fakeOrigin();
    const e = gatewayEnv(origin.binding);
    await h.call("/open/page", { cookie: member.cookie, env: e, method: "POST", headers: FETCH });
    expect(origin.seen[0]?.assertion).toBeTruthy();

    await requireTwoFactor(h, t);
    const res = await h.call("/open/page", { cookie: member.cookie, env: e, method: "POST", headers: FETCH });
    expect(res.status).toBe(200);
    expect(origin.seen[1]?.assertion).toBeNull();
  });

  it("through the RPC entrypoint: authenticate answers 403 MFA_ENROLLMENT_REQUIRED until the member enrols", async () => {
    const h = realTimeHarness();
    const t = await seedTenant("enrol-rpc");
    const member = await h.login(t.member.email);
    expect(await authenticate(member.cookie)).toMatchObject({ ok: true });
    const owner = await requireTwoFactor(h, t);
    expect(await authenticate(member.cookie)).toMatchObject({ ok: false, status: 403, error: "MFA_ENROLLMENT_REQUIRED" });
    expect(await authenticate(owner.cookie)).toMatchObject({ ok: true });
  });
});
