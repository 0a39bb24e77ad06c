import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { Harness, configured, seedTenant, withEnv } from "./helpers";

type Branding = { name: string; logoUrl: string | null; accentColor: string | null; productUrl: string | null };

describe("branding: the product's own name on the pages its users see", () => {
  it("GET /api/branding answers the operator's name, logo, accent colour and home to anyone, signed in or not", async () => {
    const h = new Harness();
    const env = withEnv({ PRODUCT_NAME: "Acme Notes", PRODUCT_LOGO_URL: "https://cdn.acme.example/logo.svg", PRODUCT_ACCENT_COLOR: "#6D28D9", PRODUCT_URL: "https://notes.acme.example/" });
    const res = await h.call<Branding>("/api/branding", { env });
    expect([res.status, res.body]).toEqual([200, { name: "Acme Notes", logoUrl: "https://cdn.acme.example/logo.svg", accentColor: "#6d28d9", productUrl: "https://notes.acme.example/" }]);
  });

  it("unset, the pages say Gatehouse, with its own mark and colours", async () => {
    const res = await new Harness().call<Branding>("/api/branding");
    expect(res.body).toEqual({ name: "Gatehouse", logoUrl: null, accentColor: null, productUrl: null });
  });

  it("a name with control or bidirectional characters, an accent colour unreadable on white, or a logo over plain http is refused at startup", () => {
    expect(() => parseConfig(configured({ PRODUCT_NAME: "Acme\u202ERTL" }))).toThrow(ConfigError);
    expect(() => parseConfig(configured({ PRODUCT_ACCENT_COLOR: "#ffff00" }))).toThrow(/contrast/);
    expect(() => parseConfig(configured({ PRODUCT_ACCENT_COLOR: "purple" }))).toThrow(/#rrggbb/);
    expect(() => parseConfig(configured({ PRODUCT_LOGO_URL: "http://cdn.acme.example/logo.svg" }))).toThrow(/https/);
    expect(() => parseConfig(configured({ PRODUCT_URL: "javascript:alert(1)" }))).toThrow(ConfigError);
    expect(parseConfig(configured({ PRODUCT_LOGO_URL: "/logo.svg" })).branding.logoUrl).toBe("/logo.svg");
  });

  it("the panel's CSP lets images come from the logo's origin and no other", async () => {
    const h = new Harness();
    const csp = async (env = withEnv({})) => (await h.call("/_gatehouse/sign-in", { env })).headers.get("content-security-policy") ?? "";
    expect(await csp()).toContain("img-src 'self' data:;");
    expect(await csp(withEnv({ PRODUCT_LOGO_URL: "https://cdn.acme.example/brand/logo.svg" }))).toContain("img-src 'self' data: https://cdn.acme.example;");
  });

  it("/api/me names the member's organisation", async () => {
    const h = new Harness();
    const t = await seedTenant("branded");
    const { cookie } = await h.session(t.member);
    const me = await h.call<{ tenant?: { name: string } }>("/api/me", { cookie });
    expect(me.body.tenant).toEqual({ name: "branded" });
  });
});
