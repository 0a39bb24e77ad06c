// `npm run keys` (scripts/keys/run.mjs), driven in-process with its input and output in hand:
// what it writes is read back here by the Worker's own parsers, so a set it makes or rotates
// is one the Worker accepts at startup, and it never shows a key where it need not.
import { describe, expect, it } from "vitest";
import { runKeys } from "../scripts/keys/run.mjs";
import { emailWebhookConfig } from "../src/email/config";
import { parseAssertionKeys } from "../src/gateway/assertion-keys";
import { KEY_SET_SECRETS } from "../src/key-set-secrets";
import { sha256Hex, toBase64Url } from "../src/lib/crypto";
import { parseKeySet } from "../src/lib/key-set";
import { operatorTokenConfig } from "../src/operator/token-config";
import { productCredentialsConfig } from "../src/product-api/credentials";

type Run = { code: number; stdout: string; stderr: string; puts: { name: string; text: string; env: string | null }[]; tokens: string[]; stdinRead: boolean };

async function keys(args: string[], options: { stdin?: string; stdinIsTTY?: boolean; stdoutIsTTY?: boolean; putFails?: boolean } = {}): Promise<Run> {
  const puts: Run["puts"] = [];
  const tokens: string[] = [];
  let stdinRead = false;
  const result = await runKeys(args, {
    readStdin: async () => {
      stdinRead = true;
      return options.stdin ?? "";
    },
    stdinIsTTY: options.stdinIsTTY ?? false,
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    now: new Date("2026-12-07T12:00:00Z"),
    writeTokenFile: (_path: string, token: string) => {
      tokens.push(token);
    },
    put: (name: string, text: string, env: string | null) => {
      puts.push({ name, text, env });
      return options.putFails ? { ok: false, message: "exit 1" } : { ok: true };
    },
  });
  return { ...result, puts, tokens, stdinRead };
}

const keySet = (text: string, name: keyof typeof KEY_SET_SECRETS) => {
  const parsed = parseKeySet(text, KEY_SET_SECRETS[name]);
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  return parsed.set;
};
const ids = (text: string, name: keyof typeof KEY_SET_SECRETS) => keySet(text, name).keys.map((key) => key.id);


describe("npm run keys", () => {
  it("makes each secret in a form the Worker accepts at startup", async () => {
    for (const name of Object.keys(KEY_SET_SECRETS) as (keyof typeof KEY_SET_SECRETS)[]) {
      const made = await keys(["new", name]);
      expect(made.code).toBe(0);
      expect(keySet(made.stdout, name).keys).toHaveLength(1);
    }
    const assertion = await keys(["new", "ASSERTION_SIGNING_KEYS"]);
    expect((await parseAssertionKeys(assertion.stdout)).publicJwks.keys).toHaveLength(1);
    const operator = await keys(["new", "OPERATOR_TOKEN"]);
    expect(operatorTokenConfig({ OPERATOR_TOKEN: operator.stdout.trim() })).toBe(operator.stdout.trim());
    const hook = await keys(["new", "EMAIL_WEBHOOK_SECRET"]);
    expect(emailWebhookConfig({ EMAIL_WEBHOOK_URL: "https://mail.example/hook", EMAIL_WEBHOOK_SECRET: hook.stdout.trim() })?.secret).toBe(hook.stdout.trim());
  });

  it("keeps the current key current until the new one is promoted, then retires only the old one", async () => {
    const first = await keys(["new", "TOTP_ENCRYPTION_KEY"]);
    const [oldId] = ids(first.stdout, "TOTP_ENCRYPTION_KEY");
    const oldKey = toBase64Url(keySet(first.stdout, "TOTP_ENCRYPTION_KEY").current.bytes);

    const added = await keys(["add", "TOTP_ENCRYPTION_KEY"], { stdin: first.stdout });
    const [stillCurrent, newId] = ids(added.stdout, "TOTP_ENCRYPTION_KEY");
    expect(stillCurrent).toBe(oldId);
    expect(newId).not.toBe(oldId);
    expect(toBase64Url(keySet(added.stdout, "TOTP_ENCRYPTION_KEY").current.bytes)).toBe(oldKey);

    const promoted = await keys(["promote", "TOTP_ENCRYPTION_KEY"], { stdin: added.stdout });
    expect(ids(promoted.stdout, "TOTP_ENCRYPTION_KEY")).toEqual([newId, oldId]);

    const retired = await keys(["retire", "TOTP_ENCRYPTION_KEY", String(oldId)], { stdin: promoted.stdout });
    expect(ids(retired.stdout, "TOTP_ENCRYPTION_KEY")).toEqual([newId]);
    expect(retired.stdout).not.toContain(oldKey);
  });

  it("carries a bare key into the set as k0 when it is first rotated", async () => {
    // 32 bytes of 0xfb in padded standard base64 (`+`, `/`, `=`), as `openssl rand -base64 32` writes one.
    const bare = `${"+/v7".repeat(10)}+/s=`;
    const bytes = new Uint8Array(32).fill(0xfb);
    const added = await keys(["add", "AUDIT_CHECKPOINT_KEY"], { stdin: `${bare}\n` });
    const set = keySet(added.stdout, "AUDIT_CHECKPOINT_KEY");
    expect(set.current.id).toBe("k0");
    expect([...set.current.bytes]).toEqual([...bytes]);
    expect(set.keys).toHaveLength(2);
  });

  it("never retires the key that signs", async () => {
    const made = await keys(["new", "SESSION_SNAPSHOT_KEYS"]);
    const added = await keys(["add", "SESSION_SNAPSHOT_KEYS"], { stdin: made.stdout });
    const [current] = ids(added.stdout, "SESSION_SNAPSHOT_KEYS");
    const retired = await keys(["retire", "SESSION_SNAPSHOT_KEYS", String(current)], { stdin: added.stdout });
    expect(retired.code).toBe(1);
    expect(retired.stderr).toContain("current key");
    expect(retired.stdout).toBe("");
  });

  it("reads no key from the command line", async () => {
    const inArgs = await keys(["add", "TOTP_ENCRYPTION_KEY", '[{"id":"a","key":"AAAA"}]']);
    expect(inArgs.code).toBe(2);
    expect(inArgs.stdinRead).toBe(false);
    const typed = await keys(["add", "TOTP_ENCRYPTION_KEY"], { stdinIsTTY: true });
    expect(typed.code).toBe(1);
    expect(typed.stdinRead).toBe(false);
  });

  it("never prints a secret to a terminal, with --put or without", async () => {
    for (const args of [["new", "TOTP_ENCRYPTION_KEY"], ["new", "ASSERTION_SIGNING_KEYS", "--put"]]) {
      const shown = await keys(args, { stdoutIsTTY: true });
      expect(shown.code).toBe(1);
      expect(shown.stdout).toBe("");
      expect(shown.puts).toEqual([]);
    }
  });

  it("names keys by id in its messages, never by value", async () => {
    const secret = "x".repeat(40); // base64url, but 30 bytes: too short for the set
    const refused = await keys(["add", "TOTP_ENCRYPTION_KEY"], { stdin: JSON.stringify([{ id: "k9", key: secret }]) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("k9");
    expect(refused.stderr).not.toContain(secret);
    const made = await keys(["new", "ASSERTION_SIGNING_KEYS"]);
    const d = (JSON.parse(made.stdout) as { keys: { d?: string }[] }).keys[0]?.d ?? "";
    for (const command of ["add", "show"]) {
      const run = await keys([command, "ASSERTION_SIGNING_KEYS"], { stdin: made.stdout });
      expect(run.stderr).not.toContain(d);
      if (command === "show") expect(run.stdout).not.toContain(d);
    }
  });

  it("never puts a set the Worker would refuse", async () => {
    // A published key without its private part cannot be promoted to sign.
    const made = await keys(["new", "ASSERTION_SIGNING_KEYS"]);
    const set = JSON.parse(made.stdout) as { keys: Record<string, string>[] };
    const published: Record<string, string> = { ...set.keys[0], kid: "published-only" };
    delete published.d;
    const promoted = await keys(["promote", "ASSERTION_SIGNING_KEYS", "--put"], { stdin: JSON.stringify({ keys: [...set.keys, published] }) });
    expect(promoted.code).toBe(1);
    expect(promoted.puts).toEqual([]);
    expect(promoted.stdout).toBe("");
  });

  it("hands the set to wrangler and prints it for the secret manager, or neither when the put fails", async () => {
    const put = await keys(["new", "SESSION_SNAPSHOT_KEYS", "--put", "--env", "staging"]);
    expect(put.code).toBe(0);
    expect(put.puts).toEqual([{ name: "SESSION_SNAPSHOT_KEYS", text: put.stdout.trim(), env: "staging" }]);
    const failed = await keys(["new", "SESSION_SNAPSHOT_KEYS", "--put"], { putFails: true });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
  });

  it("writes a new product token only to its file and keeps its digest in the secret", async () => {
    const without = await keys(["new", "PRODUCT_API_TOKENS"]);
    expect(without.code).toBe(1);
    const made = await keys(["new", "PRODUCT_API_TOKENS", "--token-file", "token.txt"]);
    const [token] = made.tokens;
    expect(token).toBeDefined();
    expect(made.stdout + made.stderr).not.toContain(String(token));
    const digest = await sha256Hex(String(token));
    expect(productCredentialsConfig({ PRODUCT_API_TOKENS: made.stdout })).toEqual([{ digest }]);

    const added = await keys(["add", "PRODUCT_API_TOKENS", "--token-file", "next.txt"], { stdin: made.stdout });
    expect(productCredentialsConfig({ PRODUCT_API_TOKENS: added.stdout })).toHaveLength(2);
    const retired = await keys(["retire", "PRODUCT_API_TOKENS", `sha256:${digest.slice(0, 12)}`], { stdin: added.stdout });
    expect(retired.stdout).not.toContain(digest);
    expect(productCredentialsConfig({ PRODUCT_API_TOKENS: retired.stdout })).toHaveLength(1);
  });
});
