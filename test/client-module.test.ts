// What product pages use to meet step-up: the client module, the step-up page it frames,
// and the challenge that page reads from the server.
import { describe, expect, it } from "vitest";
import { CLIENT_MODULE } from "../src/gateway/client-module";
import { Harness, seedTenant, withEnv } from "./helpers";

/** The ASSETS binding as the panel build answers: index.html for every page. */
function fakeAssets() {
  return {
    async fetch() {
      return new Response("<!doctype html><html><body></body></html>", { headers: { "content-type": "text/html; charset=utf-8" } });
    },
    connect() {
      throw new Error("not used");
    },
  } as unknown as Fetcher;
}

async function gzipBytes(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

describe("the client module", () => {
  it("is served as JavaScript under the Gatehouse path without a session, never as the panel's page", async () => {
    const res = await new Harness().call("/_gatehouse/client.js", { env: withEnv({ ASSETS: fakeAssets() }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.body).toBe(CLIENT_MODULE);
  });

  it("runs under a strict CSP: no eval, no inline script or style, no markup built from strings", () => {
    for (const banned of [/\beval\s*\(/, /new\s+Function\b/, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, /setAttribute\(\s*["']style/, /setTimeout\(\s*["']/, /\bimport\s+.*from\s+["'](?!\.)/]) {
      expect(CLIENT_MODULE).not.toMatch(banned);
    }
  });

  it("exports the fetch wrapper and is a few KB gzip at most", async () => {
    expect(CLIENT_MODULE).toMatch(/export async function gatehouseFetch\(/);
    expect(await gzipBytes(CLIENT_MODULE)).toBeLessThan(3 * 1024);
  });

  it("a message from the dialog counts only from this origin and from the frame it opened", () => {
    expect(CLIENT_MODULE).toContain("event.origin !== location.origin || event.source !== frame.contentWindow");
  });
});

describe("the step-up page", () => {
  it("only the step-up page may be framed, and only by the same origin; every other panel page stays unframeable", async () => {
    const h = new Harness();
    const e = withEnv({ ASSETS: fakeAssets() });
    const page = await h.call("/_gatehouse/step-up?purpose=NOTE_DELETE&returnTo=%2Fapp", { env: e });
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'self'");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    for (const path of ["/_gatehouse/", "/_gatehouse/sign-in", "/_gatehouse/step-up/x", "/_gatehouse/security/audit"]) {
      const other = await h.call(path, { env: e });
      expect(other.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
      expect(other.headers.get("x-frame-options"), path).toBe("DENY");
    }
  });

  it("reads the purpose's label and methods from the server, never from its address", async () => {
    const h = new Harness();
    const t = await seedTenant("cm");
    const member = await h.login(t.member.email);
    const admin = await h.signIn(t.admin);
    const forMember = await h.call("/api/security/stepup/challenge?purpose=NOTE_DELETE", { cookie: member.cookie });
    expect(forMember.body).toEqual({ purpose: "NOTE_DELETE", methods: ["password"], label: "delete a note" });
    const forAdmin = await h.call("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie: admin.cookie });
    expect(forAdmin.body).toEqual({ purpose: "BILLING_EXPORT", methods: ["totp", "recovery_code"], label: "export billing data" });
    const enrol = await h.call("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie: member.cookie });
    expect(enrol.body).toEqual({ purpose: "BILLING_EXPORT", methods: [], enrollmentRequired: true, label: "export billing data" });
  });

  it("an unknown purpose is 400 VALIDATION_FAILED and no session is 401", async () => {
    const h = new Harness();
    const t = await seedTenant("cm");
    const { cookie } = await h.login(t.member.email);
    const unknown = await h.call("/api/security/stepup/challenge?purpose=NOPE_NOPE", { cookie });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: "VALIDATION_FAILED" });
    expect((await h.call("/api/security/stepup/challenge?purpose=NOTE_DELETE")).status).toBe(401);
  });
});
