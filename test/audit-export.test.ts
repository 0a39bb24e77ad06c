import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../src/audit/csv";
import { Harness, gatehouseUrl, seedTenant } from "./helpers";
import { auditStore, inAuditStore } from "./audit-store";

async function raw(h: Harness, path: string, cookie: string) {
  const res = await h.app.request(gatehouseUrl(path), { headers: { cookie, "cf-connecting-ip": "203.0.113.10" } }, (await import("cloudflare:workers")).env);
  return { status: res.status, type: res.headers.get("content-type"), disposition: res.headers.get("content-disposition"), text: await res.text() };
}

describe("GET /api/audit-logs/export", () => {
  it("streams NDJSON, oldest first, one row a line, with the same filters", async () => {
    const h = new Harness();
    const t = await seedTenant();
    await h.login(t.member.email);
    const owner = await h.signIn(t.owner);
    const res = await raw(h, "/api/audit-logs/export?format=ndjson", owner.cookie);
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/x-ndjson; charset=utf-8");
    expect(res.disposition).toMatch(/attachment; filename="audit-.*\.ndjson"/);
    const lines = res.text.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; action: string; hash: string });
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    expect(lines[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    const filtered = await raw(h, "/api/audit-logs/export?format=ndjson&action=SESSION_CREATED", owner.cookie);
    expect(filtered.text.trim().split("\n")).toHaveLength(2);
  });

  it("exports CSV with a header row", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.signIn(t.owner);
    const res = await raw(h, "/api/audit-logs/export?format=csv", owner.cookie);
    expect(res.type).toBe("text/csv; charset=utf-8");
    const [header, first] = res.text.split("\r\n");
    expect(header?.startsWith("seq,id,createdAt,action,outcome,actorUserId")).toBe(true);
    expect(first).toMatch(/^1,aud_/);
  });

  it("pages through more rows than one export page holds, with no gap or repeat at a page boundary", async () => {
    const h = new Harness();
    const t = await seedTenant();
    const owner = await h.signIn(t.owner);
    // Nearly three export pages (500 rows each) after the sign-in's own rows, written by SQL:
    // the export reads, it does not verify, and how a row was written is not what is tested.
    const extra = 1_360;
    const head = await auditStore.prepare("SELECT MAX(seq) AS n FROM audit_logs WHERE tenant_id = ?").bind(t.id).first<number>("n");
    await inAuditStore(t.id, (_db, state) =>
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         INSERT INTO audit_logs (id, tenant_id, action, outcome, created_at, seq, prev_hash, hash)
         SELECT 'aud_bulk_' || i, ?1, 'LOGIN_FAILED', 'FAIL', ?3, ?4 + i, '', '' FROM n`,
        t.id,
        extra,
        h.clock.ms,
        head ?? 0,
      ),
    );
    const total = await auditStore.prepare("SELECT COUNT(*) AS n FROM audit_logs WHERE tenant_id = ?").bind(t.id).first<number>("n");
    expect(total).toBeGreaterThan(1_000);
    const res = await raw(h, "/api/audit-logs/export", owner.cookie);
    const seqs = res.text.trim().split("\n").map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: total ?? 0 }, (_, i) => i + 1));
  }, 60_000);
});

describe("CSV escaping (RFC 4180, formula injection)", () => {
  it.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["line\nbreak", '"line\nbreak"'],
    ["=HYPERLINK(\"http://x\")", '"\'=HYPERLINK(""http://x"")"'],
    ["+1", "'+1"],
    ["-2", "'-2"],
    ["@SUM(A1)", "'@SUM(A1)"],
    [null, ""],
    [{ a: 1 }, '"{""a"":1}"'],
  ])("%j → %s", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it("ends rows with CRLF", () => {
    expect(csvRow(["a", 1, true])).toBe("a,1,true\r\n");
  });
});
