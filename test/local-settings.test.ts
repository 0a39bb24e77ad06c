// `npm start`'s gateway settings (scripts/local-settings.mjs): taken from the environment or
// .dev.vars and passed to wrangler dev; whatever cannot be honoured stops the start.
import { describe, expect, it } from "vitest";
import { localSettings, parseDevVars } from "../scripts/local-settings.mjs";

const SECRETS = ["TOTP_ENCRYPTION_KEY", "ASSERTION_SIGNING_KEYS", "OPERATOR_TOKEN"];

function settings(env: Record<string, string>, devVars = "", standalone = false) {
  return localSettings({ env, devVars: parseDevVars(devVars), declaredSecrets: SECRETS, standalone, port: "8787" });
}

describe("npm start's gateway settings", () => {
  it("ORIGIN_URL from the environment puts that origin behind Gatehouse, with the other gateway settings passed on", () => {
    const run = settings({ ORIGIN_URL: "http://localhost:5000", ASSERTION_AUDIENCE: "my-app", PUBLIC_PATHS: '["/"]', HOME: "/home/me" });
    expect(run).toEqual({ origin: "url", vars: { ORIGIN_URL: "http://localhost:5000", ASSERTION_AUDIENCE: "my-app", PUBLIC_PATHS: '["/"]' } });
  });

  it("gateway settings in .dev.vars are passed on too (wrangler dev alone would ignore them), quoted or not", () => {
    const run = settings({}, "# local\nTOTP_ENCRYPTION_KEY=abc\nORIGIN_URL=http://127.0.0.1:5000\nASSERTION_AUDIENCE='my-app'\n");
    expect(run).toEqual({ origin: "url", vars: { ORIGIN_URL: "http://127.0.0.1:5000", ASSERTION_AUDIENCE: "my-app" } });
  });

  it("without ORIGIN_URL the demo product runs, and settings it allows override its own", () => {
    expect(settings({ PUBLIC_PATHS: '["/"]' })).toEqual({ origin: "demo", vars: { PUBLIC_PATHS: '["/"]' } });
  });

  it.each([
    ["an unknown GATEHOUSE_* option (a typo)", { GATEHOUSE_STANDALNE: "1" }, "", false, "GATEHOUSE_STANDALNE"],
    ["a .dev.vars line wrangler dev would ignore", {}, "EMAIL_WEBHOOK_URL=https://x.test\n", false, "EMAIL_WEBHOOK_URL in .dev.vars"],
    ["a setting given differently in the environment and .dev.vars", { ORIGIN_URL: "http://localhost:5000", ASSERTION_AUDIENCE: "a" }, "ASSERTION_AUDIENCE=b\n", false, "set differently"],
    ["ORIGIN_URL with GATEHOUSE_STANDALONE=1", { ORIGIN_URL: "http://localhost:5000" }, "", true, "GATEHOUSE_STANDALONE=1 serves no product"],
    ["ORIGIN_URL without ASSERTION_AUDIENCE", { ORIGIN_URL: "http://localhost:5000" }, "", false, "needs ASSERTION_AUDIENCE"],
    ["ORIGIN_URL with a path", { ORIGIN_URL: "http://localhost:5000/app", ASSERTION_AUDIENCE: "a" }, "", false, "origin only"],
    ["ORIGIN_URL that is not a URL", { ORIGIN_URL: "localhost:5000", ASSERTION_AUDIENCE: "a" }, "", false, "ORIGIN_URL"],
    ["ORIGIN_URL on Gatehouse's own port", { ORIGIN_URL: "http://localhost:8787", ASSERTION_AUDIENCE: "a" }, "", false, "loop"],
    ["an audience that would lock the demo product out", { ASSERTION_AUDIENCE: "my-app" }, "", false, "lock the demo product out"],
  ])("refuses loudly, naming the problem: %s", (_what, env, devVars, standalone, named) => {
    expect(() => settings(env, devVars, standalone)).toThrow(named);
  });

  it("every problem is named at once, not one per try", () => {
    expect(() => settings({ GATEHOUSE_QUIETT: "1", ORIGIN_URL: "http://localhost:5000" }, "FOO=1\n")).toThrow(/GATEHOUSE_QUIETT[\s\S]*FOO[\s\S]*ASSERTION_AUDIENCE/);
  });
});
