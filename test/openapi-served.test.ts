import { describe, expect, it } from "vitest";
import { Harness, withEnv } from "./helpers";

describe("the API document and its reference page are public", () => {
  // First in the file: nothing has read the document in this isolate yet.
  it("fails closed without the static files (503 API_DOCUMENT_UNAVAILABLE), and does not keep the failure", async () => {
    const h = new Harness();
    const missing = await h.call<{ error: string }>("/api/openapi.json", { env: withEnv({ ASSETS: undefined }) });
    expect(missing.status).toBe(503);
    expect(missing.body.error).toBe("API_DOCUMENT_UNAVAILABLE");
    expect((await h.call("/api/openapi.json")).status).toBe(200);
  });

  it("serves the document without a session, as JSON under the API's own headers", async () => {
    const h = new Harness();
    const res = await h.call<{ openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, { "x-gatehouse-step-up"?: string }>> }>("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.body.openapi).toMatch(/^3\.1\./);
    // Its paths are under its server, the deployment's Gatehouse path.
    expect(res.body.servers[0]?.url).toBe("/_gatehouse");
    expect(res.body.paths["/api/users/{id}/role"]?.patch?.["x-gatehouse-step-up"]).toBe("ROLE_CHANGE");
  });

  it("renders the reference page without a session: every operation by tag, with no script and nothing loaded from elsewhere", async () => {
    const h = new Harness();
    const document = await h.call<{ paths: Record<string, Record<string, unknown>> }>("/api/openapi.json");
    const res = await h.call<string>("/api/reference");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    for (const [path, item] of Object.entries(document.body.paths)) {
      for (const method of Object.keys(item)) expect(res.body, `${method} ${path}`).toContain(`<code>${method.toUpperCase()} /_gatehouse${path}</code>`);
    }
    expect(res.body).toContain("<h2>security/sessions</h2>");
    expect(res.body).toContain("ROLE_CHANGE");
    expect(res.body).toContain('href="/_gatehouse/api/openapi.json"');
    expect(res.body).not.toMatch(/<script|<link|src=/i);
  });
});
