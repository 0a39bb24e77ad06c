// A step-up route cannot be skipped by writing the request another way (a path or a
// method the origin reads as the guarded one), and a grant is spent or given back by
// what the origin did, never by a failure of Gatehouse's own bookkeeping.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { FETCH, fakeOrigin, gatewayEnv, loadStepUpKeys, signedInMember, verify } from "./gateway-step-up-fixtures";

beforeAll(loadStepUpKeys);

/** D1 as the test pool has it, except that statements matching `failing` reject. */
function d1FailingOn(failing: RegExp): D1Database {
  const real = env.DB;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          if (failing.test(sql)) throw new Error("D1_ERROR: stepup table unavailable");
          return target.prepare(sql);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("a step-up route matches every spelling of its path an origin may treat as the same", () => {
  it.each([
    ["GET", "/billing/export/"],
    ["GET", "/Billing/EXPORT"],
    ["GET", "/billing/export;x=1"],
    ["GET", "/billing/export."],
    ["GET", "/billing/%EF%BD%85xport"],
    ["HEAD", "/BILLING/export/"],
    ["DELETE", "/V1/notes/n1"],
    ["DELETE", "/v1/Notes/n1/"],
    ["DELETE", "/v1/notes;jsessionid=1/n1"],
    ["DELETE", "/v1/notes/"],
  ])("%s %s without a grant is 428 and nothing reaches the origin", async (method, path) => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const res = await h.call(path, { env: gatewayEnv(origin.binding), cookie, method, headers: FETCH });
    expect(res.status).toBe(428);
    expect(origin.seen).toEqual([]);
  });
});

describe("a step-up route guards the method the origin will run, not only the one on the wire", () => {
  it.each([
    [{ "x-http-method-override": "DELETE" }, "/v1/notes/n1"],
    [{ "x-http-method": "delete" }, "/v1/notes/n1"],
    [{ "x-method-override": "DELETE" }, "/v1/notes/n1"],
    [{}, "/v1/notes/n1?_method=DELETE"],
    [{ "content-type": "application/x-www-form-urlencoded" }, "/v1/notes/n1"],
  ])("a POST overridden by %o (%s) without a grant is 428 and nothing reaches the origin", async (headers, path) => {
    const { h, cookie } = await signedInMember();
    const origin = fakeOrigin();
    const res = await h.call(path, { env: gatewayEnv(origin.binding), cookie, method: "POST", rawBody: "_method=DELETE", headers: { ...FETCH, "content-type": "text/plain", ...headers } });
    expect(res.status).toBe(428);
    expect(origin.seen).toEqual([]);
  });
});

describe("a claimed grant is given back only when the action surely did not happen", () => {
  it("a 5xx from the origin keeps the grant spent: the action may have happened", async () => {
    const { h, cookie } = await signedInMember();
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    expect((await h.call("/v1/notes/n1", { env: gatewayEnv(fakeOrigin(502).binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(502);
    const origin = fakeOrigin();
    expect((await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(428);
    expect(origin.seen).toEqual([]);
  });

  it("an origin that cannot be reached gives the grant back", async () => {
    const { h, cookie } = await signedInMember();
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    const down = fakeOrigin(200, () => Promise.reject(new Error("connection refused")));
    expect((await h.call("/v1/notes/n1", { env: gatewayEnv(down.binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(502);
    expect((await h.call("/v1/notes/n1", { env: gatewayEnv(fakeOrigin().binding), cookie, method: "DELETE", headers: FETCH })).status).toBe(200);
  });

  it("a grant that cannot be given back leaves the origin's answer as it was", async () => {
    const { h, cookie } = await signedInMember();
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    const DB = d1FailingOn(/update "stepup_challenges" set "used_at" = \? where .*"used_at" = \?\)$/);
    const res = await h.call("/v1/notes/gone", { env: gatewayEnv(fakeOrigin(404).binding, { DB }), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ done: true });
  });

  it("a grant that cannot be read is 503 AUTH_UNAVAILABLE on a product route, and nothing reaches the origin", async () => {
    const { h, cookie } = await signedInMember();
    expect((await verify(h, cookie, "NOTE_DELETE")).status).toBe(200);
    const origin = fakeOrigin();
    const res = await h.call("/v1/notes/n1", { env: gatewayEnv(origin.binding, { DB: d1FailingOn(/from "stepup_challenges"/) }), cookie, method: "DELETE", headers: FETCH });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: "AUTH_UNAVAILABLE" });
    expect(origin.seen).toEqual([]);
  });
});
