import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";

const INTEGER_VARS = ["SESSION_ABSOLUTE_TIMEOUT_SECONDS", "SESSION_IDLE_TIMEOUT_SECONDS", "AUDIT_RETENTION_DAYS", "IMPERSONATION_MAX_SECONDS"] as const;

function refusal(env: Parameters<typeof parseConfig>[0]): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected the configuration to be refused");
}

describe("integer variables are validated at startup", () => {
  describe.each(INTEGER_VARS)("%s", (name) => {
    it.each(["0", "-1", "1.5", "abc", "99999999999999999999"])("refuses %j with an error naming the variable", (value) => {
      expect(refusal({ [name]: value }).message).toMatch(new RegExp(`^${name} `));
    });
  });

  it("every problem is named in one error, not just the first", () => {
    const { message } = refusal({ SESSION_IDLE_TIMEOUT_SECONDS: "0", IMPERSONATION_MAX_SECONDS: "abc" });
    expect(message).toContain("SESSION_IDLE_TIMEOUT_SECONDS");
    expect(message).toContain("IMPERSONATION_MAX_SECONDS");
  });

  it("unset or empty variables take their defaults", () => {
    const defaults = {
      gatehousePath: "/_gatehouse",
      sessionAbsoluteTimeoutSeconds: 86_400,
      sessionIdleTimeoutSeconds: 3_600,
      auditRetentionDays: 400,
      impersonationMaxSeconds: 1_800,
      gateway: null,
    };
    expect(parseConfig({})).toEqual(defaults);
    expect(parseConfig(Object.fromEntries(INTEGER_VARS.map((name) => [name, ""])))).toEqual(defaults);
  });

  it("set variables reach the configuration under their own names", () => {
    const config = parseConfig({
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: "11",
      SESSION_IDLE_TIMEOUT_SECONDS: "12",
      AUDIT_RETENTION_DAYS: "13",
      IMPERSONATION_MAX_SECONDS: "14",
    });
    expect(config).toMatchObject({ sessionAbsoluteTimeoutSeconds: 11, sessionIdleTimeoutSeconds: 12, auditRetentionDays: 13, impersonationMaxSeconds: 14 });
  });

  it("the configuration is parsed once per env object", () => {
    const env = { SESSION_IDLE_TIMEOUT_SECONDS: "60" };
    expect(parseConfig(env)).toBe(parseConfig(env));
    expect(parseConfig({ ...env })).not.toBe(parseConfig(env));
  });
});
