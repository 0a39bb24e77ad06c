import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { auditRowsOf } from "./audit-store";
import { SIEM_URL, TOKEN, type StreamView, deliver, ownerChange, scriptedReceiver, streamingTenant } from "./audit-stream-fixtures";
import { type ErrorBody, Harness, d1WithChangeBeforeBatch, seedTenant, withEnv } from "./helpers";

const PATH = "/api/tenant/audit-stream";
const storedStreams = (tenantId: string) => env.DB.prepare("SELECT * FROM audit_streams WHERE tenant_id = ?").bind(tenantId).all().then((r) => r.results);

describe("the audit stream's API", () => {
  it("only an owner with a fresh AUDIT_STREAM_CHANGE step-up saves the stream; an admin's attempt is refused 403 and audited as FAIL", async () => {
    const h = new Harness();
    const t = await seedTenant("streamapi");
    const owner = await h.session(t.owner);
    const body = { preset: "splunk_hec", url: SIEM_URL, token: TOKEN };
    const unverified = await h.call(PATH, { method: "PUT", cookie: owner.cookie, body });
    expect(unverified.status).toBe(428);
    expect(unverified.body.purpose).toBe("AUDIT_STREAM_CHANGE");
    const admin = await h.session(t.admin);
    await h.stepUp(admin.cookie, "AUDIT_STREAM_CHANGE", t.admin);
    expect((await h.call(PATH, { method: "PUT", cookie: admin.cookie, body })).status).toBe(403);
    expect((await h.call(PATH, { cookie: admin.cookie })).status).toBe(403);
    expect(await storedStreams(t.id)).toEqual([]);
    expect((await auditRowsOf(t.id, "AUDIT_STREAM_SAVED")).map((r) => [r.outcome, r.failureReason, r.actorUserId])).toEqual([["FAIL", "FORBIDDEN", t.admin.id]]);
    await h.stepUp(owner.cookie, "AUDIT_STREAM_CHANGE", t.owner);
    const saved = await h.call<{ stream: StreamView }>(PATH, { method: "PUT", cookie: owner.cookie, body });
    expect(saved.status).toBe(201);
    expect(saved.body.stream).toMatchObject({ preset: "splunk_hec", url: SIEM_URL, tokenHint: "WXYZ", paused: false, state: { lastDeliveredSeq: 0 } });
  });

  it("every change commits with its audit row: saved, paused, resumed, replayed and deleted", async () => {
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h, "ndjson", "streamaudit");
    const at = (path: string) => `${PATH}/${stream.id}/${path}`;
    expect((await ownerChange(h, t, owner.cookie, at("pause"))).status).toBe(200);
    expect((await ownerChange(h, t, owner.cookie, at("resume"))).status).toBe(200);
    expect((await ownerChange(h, t, owner.cookie, at("replay"), { fromSeq: 1 })).status).toBe(200);
    expect((await ownerChange(h, t, owner.cookie, `${PATH}/${stream.id}`, undefined, "DELETE")).status).toBe(200);
    const rows = (await auditRowsOf(t.id)).filter((r) => r.action.startsWith("AUDIT_STREAM_"));
    expect(rows.map((r) => [r.action, r.outcome, r.targetId])).toEqual([
      ["AUDIT_STREAM_SAVED", "SUCCESS", stream.id],
      ["AUDIT_STREAM_PAUSED", "SUCCESS", stream.id],
      ["AUDIT_STREAM_RESUMED", "SUCCESS", stream.id],
      ["AUDIT_STREAM_REPLAYED", "SUCCESS", stream.id],
      ["AUDIT_STREAM_DELETED", "SUCCESS", stream.id],
    ]);
    expect(rows[1]?.after).toMatchObject({ paused: true });
    expect(rows[3]?.metadata).toMatchObject({ fromSeq: 1 });
    expect(await storedStreams(t.id)).toEqual([]);
  });

  it("a change refused after its step-up is audited as FAIL and changes nothing", async () => {
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h, "ndjson", "streamrefused");
    const refused = await ownerChange(h, t, owner.cookie, `${PATH}/${stream.id}/replay`, { fromSeq: 1_000_000 });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: "VALIDATION_FAILED" });
    const bad = await ownerChange(h, t, owner.cookie, PATH, { preset: "ndjson", url: "http://siem.example/in", token: TOKEN }, "PUT");
    expect(bad.status).toBe(400);
    expect((await auditRowsOf(t.id, "AUDIT_STREAM_REPLAYED")).map((r) => [r.outcome, r.failureReason])).toEqual([["FAIL", "VALIDATION_FAILED"]]);
    expect((await auditRowsOf(t.id, "AUDIT_STREAM_SAVED")).map((r) => r.outcome)).toEqual(["SUCCESS", "FAIL"]);
    const [row] = (await storedStreams(t.id)) as { url: string; replay_from_seq: number }[];
    expect(row).toMatchObject({ url: SIEM_URL, replay_from_seq: 1 });
  });

  it("another tenant's stream is 404 for every action, and nothing of it changes", async () => {
    const h = new Harness();
    const theirs = await streamingTenant(h, "ndjson", "streamtheirs");
    const t = await seedTenant("streammine");
    const owner = await h.session(t.owner);
    for (const [path, body] of [["pause"], ["resume"], ["replay", { fromSeq: 1 }]] as const) {
      const res = await ownerChange(h, t, owner.cookie, `${PATH}/${theirs.stream.id}/${path}`, body);
      expect([path, res.status, res.body]).toMatchObject([path, 404, { error: "AUDIT_STREAM_NOT_FOUND" }]);
    }
    expect((await ownerChange(h, t, owner.cookie, `${PATH}/${theirs.stream.id}`, undefined, "DELETE")).status).toBe(404);
    expect((await h.call<{ stream: null }>(PATH, { cookie: owner.cookie })).body).toEqual({ stream: null });
    expect(await storedStreams(theirs.t.id)).toMatchObject([{ id: theirs.stream.id, paused: 0 }]);
  });

  it("an endpoint must be https (http only for localhost or 127.0.0.1) and carry no credential; a bad one is refused and saves nothing", async () => {
    const h = new Harness();
    const t = await seedTenant("streamurl");
    const owner = await h.session(t.owner);
    for (const url of ["http://siem.example/in", "https://user:pw@siem.example/in", "https://siem.example/in?api_key=x", "ftp://siem.example/in", "not a url"]) {
      const res = await ownerChange<ErrorBody>(h, t, owner.cookie, PATH, { preset: "ndjson", url, token: TOKEN }, "PUT");
      expect([url, res.status, res.body.error]).toEqual([url, 400, "VALIDATION_FAILED"]);
    }
    expect(await storedStreams(t.id)).toEqual([]);
    const statuses = [];
    for (const url of ["http://localhost:8788/in", "http://127.0.0.1:9/in", "https://siem.example/in?ddsource=gatehouse"]) {
      statuses.push((await ownerChange(h, t, owner.cookie, PATH, { preset: "ndjson", url, token: TOKEN }, "PUT")).status);
    }
    expect(statuses).toEqual([201, 200, 200]);
  });

  it("the token is never in an API answer, an audit row, a log line or D1 in the clear, and is sealed with the stream's own label", async () => {
    const logged = vi.spyOn(console, "log");
    const warned = vi.spyOn(console, "warn");
    const errored = vi.spyOn(console, "error");
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h, "datadog", "streamsecret");
    const answers = [JSON.stringify(stream)];
    answers.push(JSON.stringify((await h.call(PATH, { cookie: owner.cookie })).body));
    // A receiver that echoes the token back in its error: the summary blots it out.
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => new Response(`bad key ${new Headers(init?.headers).get("dd-api-key")}`, { status: 403 }));
    await deliver(t.id, h.clock.ms);
    answers.push(JSON.stringify((await h.call(PATH, { cookie: owner.cookie })).body));
    answers.push(JSON.stringify((await ownerChange(h, t, owner.cookie, PATH, { preset: "datadog", url: SIEM_URL }, "PUT")).body));
    for (const answer of answers) expect(answer).not.toContain(TOKEN);
    expect(answers[2]).toContain("bad key [token]");
    expect(JSON.stringify(await auditRowsOf(t.id))).not.toContain(TOKEN);
    const lines = [...logged.mock.calls, ...warned.mock.calls, ...errored.mock.calls].map((call) => JSON.stringify(call));
    expect(lines.join("\n")).not.toContain(TOKEN);
    const [row] = (await storedStreams(t.id)) as { token_enc: string }[];
    expect(JSON.stringify(row)).not.toContain(TOKEN);
    // Sealed for this tenant's stream: the box opens it under that label only.
    const { openSecret } = await import("../src/stepup/secret-box");
    expect((await openSecret(env, row?.token_enc ?? "", `audit-stream:${t.id}`)).secret).toBe(TOKEN);
    await expect(openSecret(env, row?.token_enc ?? "", t.owner.id)).rejects.toThrow();
  });

  it("a change that another lands before is refused 409 AUDIT_STREAM_CHANGED and writes nothing", async () => {
    const h = new Harness();
    const { t, owner, stream } = await streamingTenant(h, "ndjson", "streamrace");
    const meanwhile = () => env.DB.prepare("UPDATE audit_streams SET url = 'https://other.example/in', updated_at = updated_at + 1 WHERE tenant_id = ?").bind(t.id).run();
    await h.stepUp(owner.cookie, "AUDIT_STREAM_CHANGE", t.owner);
    const raced = await h.call(`${PATH}/${stream.id}/pause`, { method: "POST", cookie: owner.cookie, env: withEnv({ DB: d1WithChangeBeforeBatch(env.DB, /from "audit_streams"/, meanwhile) }) });
    expect(raced.status).toBe(409);
    expect(raced.body.error).toBe("AUDIT_STREAM_CHANGED");
    expect(await storedStreams(t.id)).toMatchObject([{ paused: 0, url: "https://other.example/in" }]);
    expect((await auditRowsOf(t.id, "AUDIT_STREAM_PAUSED")).map((r) => [r.outcome, r.failureReason])).toEqual([["FAIL", "AUDIT_STREAM_CHANGED"]]);
  });

  it("a stream stops delivering once the owner who saved it is no longer an owner", async () => {
    const h = new Harness();
    const { t } = await streamingTenant(h, "ndjson", "streamgrant");
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(t.owner.id).run();
    const received = scriptedReceiver();
    expect(await deliver(t.id, h.clock.ms)).toEqual({ kind: "idle", why: "stopped" });
    expect(received).toEqual([]);
  });
});
