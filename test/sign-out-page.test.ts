// The sign-out page (src/auth/sign-out-page.ts): a POST form ends the session and lands on
// SIGN_OUT_PATH; a GET only shows the page; the API's CSRF rules hold.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { Harness, ORIGIN, configured, seedTenant, withEnv } from "./helpers";
import { auditStore } from "./audit-store";

const FORM = { accept: "text/html", "content-type": "application/x-www-form-urlencoded", "sec-fetch-mode": "navigate", "sec-fetch-site": "same-origin" };

/** The ASSETS binding as the panel build answers: index.html for every page. */
const panelAssets = {
  async fetch() {
    return new Response("<!doctype html><html><body></body></html>", { headers: { "content-type": "text/html; charset=utf-8" } });
  },
  connect() {
    throw new Error("not used");
  },
} as unknown as Fetcher;

async function signedIn() {
  const h = new Harness();
  const t = await seedTenant("so");
  const session = await h.login(t.member.email);
  return { h, t, ...session };
}

describe("the sign-out page", () => {
  it("its POST form ends the session, clears its cookies, records LOGOUT and lands on SIGN_OUT_PATH with a 303", async () => {
    const { h, t, cookie, sessionId } = await signedIn();
    const e = withEnv({ SIGN_OUT_PATH: "/goodbye?from=gatehouse" });
    const res = await h.call("/_gatehouse/sign-out", { env: e, cookie, method: "POST", rawBody: "", headers: { ...FORM, origin: ORIGIN } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/goodbye?from=gatehouse");
    expect(res.headers.getSetCookie().some((line) => line.startsWith("__Host-gatehouse_session=;"))).toBe(true);
    expect((await h.call("/api/me", { cookie })).status).toBe(401);
    const row = await auditStore.prepare("SELECT outcome, target_id FROM audit_logs WHERE tenant_id = ? AND action = 'LOGOUT'").bind(t.id).first<{ outcome: string; target_id: string }>();
    expect(row).toEqual({ outcome: "SUCCESS", target_id: sessionId });
  });

  it("sent by fetch (client.js's signOut()) it ends the session the same way and answers where to go as JSON", async () => {
    const { h, cookie } = await signedIn();
    const res = await h.call("/_gatehouse/sign-out", { env: withEnv({ SIGN_OUT_PATH: "/goodbye" }), cookie, method: "POST", headers: { accept: "application/json", "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, redirectTo: "/goodbye" });
    expect((await h.call("/api/me", { cookie })).status).toBe(401);
  });

  it("a GET never signs out: it is the panel's page, and the session lives on", async () => {
    const { h, cookie } = await signedIn();
    const res = await h.call("/_gatehouse/sign-out", { env: withEnv({ ASSETS: panelAssets }), cookie, headers: { accept: "text/html", "sec-fetch-mode": "navigate" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
  });

  it("a sign-out posted from another site is 403 CSRF, and the session lives on", async () => {
    const { h, cookie } = await signedIn();
    const res = await h.call("/_gatehouse/sign-out", { cookie, method: "POST", rawBody: "", headers: { ...FORM, "sec-fetch-site": "cross-site", origin: "https://evil.test" } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: "CSRF" });
    expect((await h.call("/api/me", { cookie })).status).toBe(200);
  });

  it("a browser whose session already ended lands on SIGN_OUT_PATH all the same", async () => {
    const h = new Harness();
    const res = await h.call("/_gatehouse/sign-out", { method: "POST", rawBody: "", headers: { ...FORM, origin: ORIGIN } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });
});

describe("SIGN_OUT_PATH", () => {
  it("must be a same-origin path: another origin, a scheme-relative or relative path stops the Worker", () => {
    for (const value of ["//evil.test", "https://evil.test/", "goodbye", "/\\\\evil.test"]) expect(() => parseConfig(configured({ SIGN_OUT_PATH: value })), value).toThrow(ConfigError);
  });
});
