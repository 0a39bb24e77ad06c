import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config";
import { ORIGIN, configured } from "./helpers";

const INTEGER_VARS = ["SESSION_ABSOLUTE_TIMEOUT_SECONDS", "SESSION_IDLE_TIMEOUT_SECONDS", "AUDIT_RETENTION_DAYS", "IMPERSONATION_MAX_SECONDS"] as const;

function refusal(env: Parameters<typeof parseConfig>[0]): ConfigError {
  try {
    parseConfig(configured(env));
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
      publicOrigin: ORIGIN,
      gatehousePath: "/_gatehouse",
      signOutPath: "/",
      sessionAbsoluteTimeoutSeconds: 86_400,
      sessionIdleTimeoutSeconds: 3_600,
      auditRetentionDays: 400,
      impersonationMaxSeconds: 1_800,
      pwnedPasswordsApi: "https://api.pwnedpasswords.com",
      branding: { name: "Gatehouse", logoUrl: null, accentColor: null, productUrl: null },
      gateway: null,
      productStepUpPurposes: [],
      keys: { totp: null, auditCheckpoint: null, sessionSnapshot: null },
      emailWebhook: null,
      operatorToken: null,
      webhook: null,
      productCredentials: null,
    };
    expect(parseConfig(configured({}))).toEqual(defaults);
    expect(parseConfig(configured(Object.fromEntries(INTEGER_VARS.map((name) => [name, ""]))))).toEqual(defaults);
  });

  it("an optional secret put with an empty value is unset: the operator API and the email hook stay off", () => {
    const config = parseConfig(configured({ OPERATOR_TOKEN: "", EMAIL_WEBHOOK_SECRET: "", EMAIL_WEBHOOK_URL: "" }));
    expect(config.operatorToken).toBeNull();
    expect(config.emailWebhook).toBeNull();
  });

  it("set variables reach the configuration under their own names", () => {
    const config = parseConfig(configured({
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: "11",
      SESSION_IDLE_TIMEOUT_SECONDS: "12",
      AUDIT_RETENTION_DAYS: "13",
      IMPERSONATION_MAX_SECONDS: "14",
    }));
    expect(config).toMatchObject({ sessionAbsoluteTimeoutSeconds: 11, sessionIdleTimeoutSeconds: 12, auditRetentionDays: 13, impersonationMaxSeconds: 14 });
  });

  it("the configuration is parsed once per env object", () => {
    const env = configured({ SESSION_IDLE_TIMEOUT_SECONDS: "60" });
    expect(parseConfig(env)).toBe(parseConfig(env));
    expect(parseConfig({ ...env })).not.toBe(parseConfig(env));
  });
});

describe("the product's step-up purposes are validated at startup", () => {
  const purpose = { name: "NOTE_DELETE", label: "delete a note", windowSeconds: 300, singleUse: true, secondFactorOnly: false };
  const withPurposes = (value: unknown) => configured({ PRODUCT_STEP_UP_PURPOSES: typeof value === "string" ? value : JSON.stringify(value) });

  it("a valid list reaches the configuration", () => {
    expect(parseConfig(withPurposes([purpose])).productStepUpPurposes).toEqual([purpose]);
  });

  it("refuses a value that is not JSON, naming the variable", () => {
    expect(refusal(withPurposes("[{name: NOTE_DELETE}]")).message).toMatch(/^PRODUCT_STEP_UP_PURPOSES is not valid JSON/);
  });

  it.each(["REVOKE_SESSION", "MFA_CHANGE", "IMPERSONATION"])("refuses a name that collides with Gatehouse's own purpose %s", (name) => {
    expect(refusal(withPurposes([{ ...purpose, name }])).message).toMatch(/^PRODUCT_STEP_UP_PURPOSES .*Gatehouse's own/);
  });

  it("refuses the same name twice", () => {
    expect(refusal(withPurposes([purpose, purpose])).message).toContain("unique");
  });

  it.each([59, 3601, 1.5])("refuses a window of %j seconds (60 to 3600)", (windowSeconds) => {
    expect(refusal(withPurposes([{ ...purpose, windowSeconds }])).message).toMatch(/^PRODUCT_STEP_UP_PURPOSES \[0\.windowSeconds\]/);
  });

  it.each(["note_delete", "ND", "1NOTE", "NOTE-DELETE"])("refuses the name %j", (name) => {
    expect(refusal(withPurposes([{ ...purpose, name }])).message).toMatch(/^PRODUCT_STEP_UP_PURPOSES \[0\.name\]/);
  });

  it("refuses a purpose without a label, or with a field it does not know", () => {
    expect(refusal(withPurposes([{ ...purpose, label: "" }])).message).toContain("[0.label]");
    expect(refusal(withPurposes([{ ...purpose, methods: ["password"] }])).message).toContain("PRODUCT_STEP_UP_PURPOSES");
    expect(refusal(withPurposes({ NOTE_DELETE: purpose })).message).toContain("PRODUCT_STEP_UP_PURPOSES");
  });
});
