// What product pages use to meet step-up: the client module, the step-up page it frames,
// and the challenge that page reads from the server.
import { describe, expect, it } from "vitest";
import { CLIENT_MODULE } from "../src/gateway/client-module";
import { STEP_UP_MESSAGE_TYPE } from "../src/gateway/step-up-message";
import { SESSION_FAILURES } from "../src/sessions/middleware";
import { type FakeDialog, loadClientModule } from "./client-module-fake-page";
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

  it("signOut() POSTs to the sign-out page under the module's own path, never a GET that would sign out, then goes where the answer says", async () => {
    const sent: { url: string; method: string }[] = [];
    const client = loadClientModule({
      fetch: async (input, init) => {
        sent.push({ url: String(input), method: init?.method ?? "GET" });
        return Response.json({ success: true, redirectTo: "/goodbye" });
      },
      onDialog: () => {},
    });
    await client.signOut();
    expect(sent).toEqual([{ url: "/_gatehouse/sign-out", method: "POST" }]);
    expect(client.assigned).toEqual(["/goodbye"]);
  });

  it("a message from the dialog counts only from this origin and from the frame it opened", async () => {
    const dialogs: FakeDialog[] = [];
    const client = loadClientModule({ fetch: () => Promise.reject(new Error("not used")), onDialog: (d) => dialogs.push(d) });
    const result = client.stepUp("NOTE_DELETE");
    await Promise.resolve();
    const [dialog] = dialogs;
    if (!dialog) throw new Error("no dialog opened");
    const verified = { type: STEP_UP_MESSAGE_TYPE, purpose: "NOTE_DELETE", verified: true };
    // Forged "verified" answers: another origin, another window, another purpose.
    dialog.answer({ origin: "https://evil.example", data: verified });
    dialog.answer({ source: {}, data: verified });
    dialog.answer({ data: { ...verified, purpose: "BILLING_EXPORT" } });
    dialog.answer({ data: { type: STEP_UP_MESSAGE_TYPE, purpose: "NOTE_DELETE", verified: false } });
    expect(await result).toBe(false);
  });
});

/** A product route guarded by a single-use grant: each verification grants one request. */
function singleUseOrigin() {
  let grants = 0;
  const statuses: number[] = [];
  const fetch = async () => {
    const status = grants > 0 ? 200 : 428;
    if (status === 200) grants -= 1;
    statuses.push(status);
    return Response.json(status === 200 ? { done: true } : { error: "STEP_UP_REQUIRED", message: "Confirm it's you", purpose: "NOTE_DELETE", methods: ["password"] }, { status });
  };
  return { fetch, statuses, grant: () => (grants += 1) };
}

describe("the client module's step-up retry", () => {
  it("a retry answered 428 again because a concurrent request took the single-use grant opens the dialog again, and the request succeeds", async () => {
    const origin = singleUseOrigin();
    let opened = 0;
    const client = loadClientModule({
      fetch: origin.fetch,
      onDialog: (dialog) => {
        opened += 1;
        origin.grant();
        // The first verification is spent by another request sharing the dialog.
        if (opened === 1) void origin.fetch();
        dialog.answer({ data: { type: STEP_UP_MESSAGE_TYPE, purpose: "NOTE_DELETE", verified: true } });
      },
    });
    const answer = await client.gatehouseFetch("https://app.example/v1/notes/1", { method: "DELETE" });
    expect(answer.status).toBe(200);
    expect(opened).toBe(2);
  });

  it("the dialog is opened again a bounded number of times when every retry is answered 428", async () => {
    const origin = singleUseOrigin();
    let opened = 0;
    const client = loadClientModule({
      fetch: origin.fetch,
      onDialog: (dialog) => {
        opened += 1;
        dialog.answer({ data: { type: STEP_UP_MESSAGE_TYPE, purpose: "NOTE_DELETE", verified: true } });
      },
    });
    const answer = await client.gatehouseFetch("https://app.example/v1/notes/1", { method: "DELETE" });
    expect(answer.status).toBe(428);
    expect(opened).toBe(3);
  });

  it("every session-loss code of the edge check sends the page to sign-in", async () => {
    for (const code of SESSION_FAILURES) {
      const client = loadClientModule({ fetch: async () => Response.json({ error: code, message: "x" }, { status: 401 }), onDialog: () => undefined });
      await client.gatehouseFetch("https://app.example/v1/notes");
      expect(client.assigned, code).toEqual(["/_gatehouse/sign-in?returnTo=%2Fapp"]);
    }
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
    const admin = await h.session(t.admin);
    const forMember = await h.call("/api/security/stepup/challenge?purpose=NOTE_DELETE", { cookie: member.cookie });
    expect(forMember.body).toEqual({ purpose: "NOTE_DELETE", methods: ["password"], label: "delete a note" });
    const forAdmin = await h.call("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie: admin.cookie });
    expect(forAdmin.body).toEqual({ purpose: "BILLING_EXPORT", methods: ["totp", "recovery_code"], label: "export billing data" });
    const enrol = await h.call("/api/security/stepup/challenge?purpose=BILLING_EXPORT", { cookie: member.cookie });
    expect(enrol.body).toEqual({ purpose: "BILLING_EXPORT", methods: [], enrollmentRequired: true, label: "export billing data" });
  });

  it("the frameable step-up page's challenge serves only the product's purposes, never Gatehouse's own admin ones", async () => {
    const h = new Harness();
    const t = await seedTenant("cn");
    const admin = await h.session(t.admin);
    for (const purpose of ["ROLE_CHANGE", "IMPERSONATION", "FORCE_LOGOUT"]) {
      const res = await h.call(`/api/security/stepup/challenge?purpose=${purpose}`, { cookie: admin.cookie });
      expect(res.status, purpose).toBe(400);
      expect(res.body, purpose).toMatchObject({ error: "VALIDATION_FAILED" });
    }
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
