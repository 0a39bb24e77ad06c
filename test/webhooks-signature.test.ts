import { describe, expect, it } from "vitest";
import { verifyWebhook } from "../packages/product/src/index";
import { ConfigError, parseConfig } from "../src/config";
import { signWebhook, webhookHeaders } from "../src/webhooks/sign";
import { webhookConfig } from "../src/webhooks/config";
import { sendPokes } from "../src/webhooks/queue";
import { configured } from "./helpers";
import { WEBHOOK_TEST_SECRET } from "./webhook-fixtures";

// The example the Standard Webhooks specification publishes (its reference libraries' "sign" test).
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const specHeaders = { "webhook-id": SPEC.id, "webhook-timestamp": String(SPEC.timestamp), "webhook-signature": SPEC.signature };

describe("Standard Webhooks signatures", () => {
  it("Gatehouse's signature of the specification's example is the specification's", async () => {
    const key = webhookConfig({ WEBHOOK_URL: "https://product.test/hooks", WEBHOOK_SECRET: SPEC.secret })?.key;
    expect(key).toBeDefined();
    expect(await signWebhook(key as Uint8Array, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
  });

  it("the product package accepts the specification's example at its time", async () => {
    const result = await verifyWebhook(SPEC.secret, specHeaders, SPEC.body, { nowSeconds: SPEC.timestamp + 10 });
    // Its signature passed; its body is no event.
    expect(result).toEqual({ ok: false, reason: "MALFORMED_BODY" });
  });

  it("the product package refuses a body changed by one byte", async () => {
    const result = await verifyWebhook(SPEC.secret, specHeaders, SPEC.body.replace("2432232314", "2432232315"), { nowSeconds: SPEC.timestamp });
    expect(result).toEqual({ ok: false, reason: "SIGNATURE_MISMATCH" });
  });

  it("the product package refuses a signed request older than its tolerance (a replay)", async () => {
    const result = await verifyWebhook(SPEC.secret, specHeaders, SPEC.body, { nowSeconds: SPEC.timestamp + 301, toleranceSeconds: 300 });
    expect(result).toEqual({ ok: false, reason: "TIMESTAMP_OUT_OF_TOLERANCE" });
  });

  it("the product package refuses a request signed with another secret, and one without the headers", async () => {
    const body = JSON.stringify({ type: "user.enabled", timestamp: "2026-11-30T12:00:00.000Z", data: { userId: "u1" } });
    const key = webhookConfig({ WEBHOOK_URL: "https://product.test/hooks", WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })?.key as Uint8Array;
    const headers = await webhookHeaders(key, "aud_1", SPEC.timestamp * 1000, body);
    expect(await verifyWebhook(WEBHOOK_TEST_SECRET, headers, body, { nowSeconds: SPEC.timestamp })).toMatchObject({ ok: true, event: { id: "aud_1", type: "user.enabled" } });
    expect(await verifyWebhook(SPEC.secret, headers, body, { nowSeconds: SPEC.timestamp })).toEqual({ ok: false, reason: "SIGNATURE_MISMATCH" });
    expect(await verifyWebhook(WEBHOOK_TEST_SECRET, {}, body, { nowSeconds: SPEC.timestamp })).toEqual({ ok: false, reason: "MISSING_HEADERS" });
  });
});

describe("WEBHOOK_URL and WEBHOOK_SECRET, validated at startup", () => {
  const parse = (vars: Record<string, string>) => () => parseConfig(configured(vars));

  it("without WEBHOOK_URL, webhooks are off", () => {
    expect(parseConfig(configured({})).webhook).toBeNull();
  });

  it("a secret not in whsec_<base64 of 24 to 64 bytes> form is refused, naming the variable and not the value", () => {
    const short = `whsec_${btoa("x".repeat(16))}`;
    expect(parse({ WEBHOOK_URL: "https://p.test/h", WEBHOOK_SECRET: short })).toThrow(ConfigError);
    expect(parse({ WEBHOOK_URL: "https://p.test/h", WEBHOOK_SECRET: short })).toThrow(/WEBHOOK_SECRET must be whsec_/);
    expect(parse({ WEBHOOK_URL: "https://p.test/h", WEBHOOK_SECRET: short })).not.toThrow(short);
    expect(parse({ WEBHOOK_URL: "https://p.test/h", WEBHOOK_SECRET: "a-plain-password-that-is-long-enough" })).toThrow(/WEBHOOK_SECRET/);
  });

  it("an endpoint over plain http (other than this machine) is refused, and so is one without its secret", () => {
    expect(parse({ WEBHOOK_URL: "http://p.test/h", WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })).toThrow(/WEBHOOK_URL must use https/);
    expect(parseConfig(configured({ WEBHOOK_URL: "http://localhost:8787/webhooks/gatehouse", WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })).webhook?.url).toBe("http://localhost:8787/webhooks/gatehouse");
    expect(parse({ WEBHOOK_URL: "https://p.test/h" })).toThrow(/WEBHOOK_SECRET is not/);
    expect(parseConfig(configured({ WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })).webhook).toBeNull();
  });

  it("a WEBHOOK_URL carrying a credential is refused without its value in the message (startup logs the message)", () => {
    const url = "https://hook-user:s3cret-in-url@p.test/h";
    expect(parse({ WEBHOOK_URL: url, WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })).toThrow(/WEBHOOK_URL must not carry credentials/);
    expect(() => webhookConfig({ WEBHOOK_URL: url, WEBHOOK_SECRET: WEBHOOK_TEST_SECRET })).toThrow(expect.objectContaining({ message: expect.not.stringContaining("s3cret-in-url") }));
  });
});

describe("delivery requests queued in bulk", () => {
  it("go in batches of at most 100, the most Queues' sendBatch takes: a replay of 250 tenants' dead letters is three batches", async () => {
    const batches: number[] = [];
    const queue = { sendBatch: async (messages: unknown[]) => void batches.push(messages.length) } as unknown as Queue;
    await sendPokes(queue, Array.from({ length: 250 }, (_, i) => ({ kind: "deliver" as const, tenantId: `ten_${i}` })));
    expect(batches).toEqual([100, 100, 50]);
  });
});
