import { describe, expect, it } from "vitest";
import { GatewayConfigError, gatewayConfig } from "../src/gateway/config";

function problemsOf(env: Parameters<typeof gatewayConfig>[0]): string[] {
  try {
    gatewayConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return (error as GatewayConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("gateway configuration", () => {
  it("a complete configuration parses, with defaults for the issuer and Gatehouse's path", () => {
    const config = gatewayConfig({ ORIGIN_URL: "https://origin.acme.internal", ASSERTION_AUDIENCE: "acme-notes", PUBLIC_PATHS: "/, /assets/*" });
    expect(config).toMatchObject({ originUrl: "https://origin.acme.internal", audience: "acme-notes", issuer: "gatehouse" });
    expect(config.publicPaths.isPublic("/assets/a.css")).toBe(true);
    expect(config.publicPaths.isPublic("/app")).toBe(false);
  });

  it("a gateway without an origin or an audience is refused, every problem listed", () => {
    const problems = problemsOf({ PUBLIC_PATHS: '["pricing"]' });
    expect(problems).toEqual(expect.arrayContaining(["ASSERTION_AUDIENCE is not set", "neither the ORIGIN service binding nor ORIGIN_URL is set"]));
    expect(problems.some((p) => p.startsWith('PUBLIC_PATHS "pricing" must start with /'))).toBe(true);
  });

  it("an origin URL with a path, query or credentials is refused", () => {
    for (const url of ["https://origin.test/app", "https://origin.test/?x=1", "https://user:pw@origin.test", "ftp://origin.test", "not a url"]) {
      expect(problemsOf({ ORIGIN_URL: url, ASSERTION_AUDIENCE: "a" }).join(), url).toMatch(/ORIGIN_URL/);
    }
  });

  it("the configuration is parsed once per isolate and again when a value changes", () => {
    const env = { ORIGIN_URL: "https://o.test", ASSERTION_AUDIENCE: "a", PUBLIC_PATHS: "/" };
    const first = gatewayConfig(env);
    expect(gatewayConfig({ ...env })).toBe(first);
    const changed = gatewayConfig({ ...env, PUBLIC_PATHS: "/pricing" });
    expect(changed).not.toBe(first);
    expect(changed.publicPaths.isPublic("/pricing")).toBe(true);
  });
});
