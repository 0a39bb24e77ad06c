import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/index";
import { CSP } from "../src/pages";
import { ASSERTION_HEADER } from "../../../packages/product/src/index";
import type { AuditEventInput } from "../src/audit";
import { NOW_MS, alice, assertion, bob, carol, envWith, newSigner, signerFromJwk, stubAuditLog, stubGatehouse } from "./fixtures";

async function setup() {
  const signer = await newSigner("k1");
  const app = createApp({ now: () => NOW_MS });
  const audit = stubAuditLog();
  const appEnv = envWith(stubGatehouse(() => [signer.publicJwk]), audit);
  const call = async (path: string, init: { as?: typeof bob; method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers = new Headers(init.headers);
    if (init.as) headers.set(ASSERTION_HEADER, await assertion(signer, init.as));
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    return app.fetch(new Request(`https://notes.test${path}`, { method: init.method ?? (body ? "POST" : "GET"), headers, body }), appEnv);
  };
  return { signer, call, audit };
}

describe("Acme Notes behind Gatehouse", () => {
  it("the landing page is public, links to sign-in and the panel, and carries a CSP without inline scripts", async () => {
    const { call } = await setup();
    const res = await call("/");
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('href="/_gatehouse/sign-in?returnTo=/app"');
    expect(page).toContain('href="/_gatehouse/"');
    expect(page).not.toMatch(/<script>|<script(?![^>]*src=)/);
    expect(res.headers.get("content-security-policy")).toBe(CSP);
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).not.toContain("unsafe-inline");
  });

  it("every protected route is 401 JSON without a valid assertion, whatever else the request claims", async () => {
    const { call } = await setup();
    for (const [path, method] of [["/app", "GET"], ["/whoami", "GET"], ["/api/notes", "GET"], ["/api/notes", "POST"], ["/api/notes/x", "DELETE"]] as const) {
      const res = await call(path, { method, headers: { "x-user-id": "u-alice", "x-tenant-id": "acme", cookie: "__Host-gatehouse_session=x" } });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await res.json()).toMatchObject({ error: "UNAUTHORIZED" });
    }
  });

  it("the app page greets the user by name from the verified assertion, escaped", async () => {
    const { call } = await setup();
    const page = await (await call("/app", { as: { ...bob, name: "Bob <script>alert(1)</script>" } })).text();
    expect(page).toContain("Hello, Bob &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>alert(1)");
    expect(page).not.toContain('class="banner"');
  });

  it("while impersonating, the app page names the real user in a banner", async () => {
    const { call } = await setup();
    const page = await (await call("/app", { as: { ...bob, act: { sub: alice.sub, email: alice.email, name: alice.name } } })).text();
    expect(page).toContain("Hello, Bob");
    expect(page).toMatch(/class="banner"[^>]*>Alice \(alice@acme.test\) is acting as Bob\./);
  });

  it("notes are per tenant: another tenant neither lists nor deletes them", async () => {
    const { call } = await setup();
    const created = await call("/api/notes", { as: bob, body: { text: "acme roadmap" } });
    expect(created.status).toBe(201);
    const { note } = (await created.json()) as { note: { id: string } };
    const theirs = (await (await call("/api/notes", { as: carol })).json()) as { notes: unknown[] };
    expect(theirs.notes).toEqual([]);
    const del = await call(`/api/notes/${note.id}`, { as: carol, method: "DELETE" });
    expect(del.status).toBe(404);
    const ours = (await (await call("/api/notes", { as: alice })).json()) as { notes: { text: string }[] };
    expect(ours.notes.map((n) => n.text)).toEqual(["acme roadmap"]);
  });

  it("a member deletes only their own notes; an owner deletes any in the tenant", async () => {
    const { call } = await setup();
    const byAlice = ((await (await call("/api/notes", { as: alice, body: { text: "owner's" } })).json()) as { note: { id: string } }).note;
    expect((await call(`/api/notes/${byAlice.id}`, { as: bob, method: "DELETE" })).status).toBe(403);
    const byBob = ((await (await call("/api/notes", { as: bob, body: { text: "bob's" } })).json()) as { note: { id: string } }).note;
    expect((await call(`/api/notes/${byBob.id}`, { as: alice, method: "DELETE" })).status).toBe(200);
    expect((await call(`/api/notes/${byAlice.id}`, { as: alice, method: "DELETE" })).status).toBe(200);
  });

  it("a note made while impersonating records who really acted", async () => {
    const { call } = await setup();
    const res = await call("/api/notes", { as: { ...bob, act: { sub: alice.sub, email: alice.email, name: alice.name } }, body: { text: "x" } });
    expect(((await res.json()) as { note: unknown }).note).toMatchObject({ createdBy: "u-bob", actedBy: "u-alice" });
  });

  it("bad note input gets a JSON error and changes nothing", async () => {
    const { call } = await setup();
    expect((await call("/api/notes", { as: bob, body: { text: "" } })).status).toBe(400);
    expect((await call("/api/notes", { as: bob, body: { text: "x", tenant: "globex" } })).status).toBe(400);
    expect((await call("/api/notes", { as: bob, body: { text: "x" }, headers: { "content-type": "text/plain" } })).status).toBe(415);
    const notes = (await (await call("/api/notes", { as: bob })).json()) as { notes: unknown[] };
    expect(notes.notes).toEqual([]);
  });

  it("/whoami shows the raw assertion, its verified claims and the cookie names received", async () => {
    const { signer, call } = await setup();
    const token = await assertion(signer, bob);
    const res = await call("/whoami", { headers: { [ASSERTION_HEADER]: token, cookie: "theme=dark; cart=1" } });
    const body = (await res.json()) as { token: string; claims: { sub: string; tid: string }; cookieNames: string[] };
    expect(body.token).toBe(token);
    expect(body.claims).toMatchObject({ sub: "u-bob", tid: "acme" });
    expect(body.cookieNames).toEqual(["theme", "cart"]);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("through the real GATEHOUSE service binding, an assertion verifies against the published JWKS", async () => {
    const signer = await signerFromJwk(env.TEST_PRIVATE_JWK);
    const app = createApp({ now: () => NOW_MS });
    const res = await app.fetch(new Request("https://notes.test/whoami", { headers: { [ASSERTION_HEADER]: await assertion(signer, bob) } }), env);
    expect(res.status).toBe(200);
  });
});

describe("Acme Notes records its actions in Gatehouse's audit log", () => {
  const noteOf = async (res: Response) => ((await res.json()) as { note: { id: string } }).note;

  it("creating a note records app.note.created for the session of the verified assertion", async () => {
    const { call, audit } = await setup();
    const note = await noteOf(await call("/api/notes", { as: bob, body: { text: "plan" }, headers: { "cf-connecting-ip": "203.0.113.9", "user-agent": "Mozilla/5.0 test" } }));
    expect(audit.events).toEqual([
      { sessionId: "s-u-bob", userId: "u-bob", action: "app.note.created", outcome: "SUCCESS", targetType: "note", targetId: note.id, after: { text: "plan" }, ip: "203.0.113.9", userAgent: "Mozilla/5.0 test" },
    ]);
  });

  it("a note is not kept when its creation cannot be recorded: 503, and the list stays empty", async () => {
    const { call, audit } = await setup();
    audit.down = true;
    const res = await call("/api/notes", { as: bob, body: { text: "plan" } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "AUDIT_UNAVAILABLE" });
    expect(((await (await call("/api/notes", { as: bob })).json()) as { notes: unknown[] }).notes).toEqual([]);
  });

  it("deleting a note records app.note.deleted with what was deleted; while impersonating, for the same session", async () => {
    const { call, audit } = await setup();
    const acting = { ...bob, act: { sub: alice.sub, email: alice.email, name: alice.name } };
    const note = await noteOf(await call("/api/notes", { as: acting, body: { text: "old" } }));
    expect((await call(`/api/notes/${note.id}`, { as: acting, method: "DELETE" })).status).toBe(200);
    expect(audit.events.at(-1)).toMatchObject({ sessionId: "s-u-bob", action: "app.note.deleted", outcome: "SUCCESS", targetId: note.id, before: { text: "old" } });
  });

  it("a deletion that cannot be recorded does not happen: 503, and the note is still there", async () => {
    const { call, audit } = await setup();
    const note = await noteOf(await call("/api/notes", { as: bob, body: { text: "keep" } }));
    audit.down = true;
    expect((await call(`/api/notes/${note.id}`, { as: bob, method: "DELETE" })).status).toBe(503);
    const notes = ((await (await call("/api/notes", { as: bob })).json()) as { notes: { id: string }[] }).notes;
    expect(notes.map((n) => n.id)).toEqual([note.id]);
  });

  it("a refused deletion is recorded as FAIL with its reason", async () => {
    const { call, audit } = await setup();
    const note = await noteOf(await call("/api/notes", { as: alice, body: { text: "owner's" } }));
    expect((await call(`/api/notes/${note.id}`, { as: bob, method: "DELETE" })).status).toBe(403);
    expect(audit.events.at(-1)).toMatchObject({ sessionId: "s-u-bob", action: "app.note.deleted", outcome: "FAIL", failureReason: "FORBIDDEN", targetId: note.id });
  });

  it("the page deletes through Gatehouse's client module, and its CSP allows only a same-origin frame for the dialog", async () => {
    const { call } = await setup();
    const script = await (await call("/app.js")).text();
    expect(script).toMatch(/^import \{ gatehouseFetch \} from "\/_gatehouse\/client\.js";/);
    expect(script).not.toMatch(/[^.]fetch\(/);
    expect(CSP).toContain("frame-src 'self'");
    expect(CSP).toContain("frame-ancestors 'none'");
  });

  it("events cross a real RPC service binding (to a stand-in GatehouseService, an auxiliary worker)", async () => {
    const signer = await signerFromJwk(env.TEST_PRIVATE_JWK);
    const app = createApp({ now: () => NOW_MS });
    const res = await app.fetch(
      new Request("https://notes.test/api/notes", { method: "POST", headers: { [ASSERTION_HEADER]: await assertion(signer, carol), "content-type": "application/json" }, body: JSON.stringify({ text: "via rpc" }) }),
      env,
    );
    expect(res.status).toBe(201);
    const standIn = env.GATEHOUSE_RPC as unknown as { recorded(): Promise<AuditEventInput[]> };
    expect(await standIn.recorded()).toContainEqual(expect.objectContaining({ sessionId: "s-u-carol", action: "app.note.created", outcome: "SUCCESS" }));
  });
});
