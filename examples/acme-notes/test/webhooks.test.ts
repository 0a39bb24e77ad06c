import { describe, expect, it } from "vitest";
import { ASSERTION_HEADER } from "../../../packages/product/src/index";
import { createApp } from "../src/index";
import { NOW_MS, alice, assertion, carol, envWith, newSigner, stubGatehouse } from "./fixtures";

const SECRET = `whsec_${btoa("acme-notes-test-webhook-secret-0000")}`;

/** A webhook as Gatehouse signs it (Standard Webhooks: HMAC-SHA256 over "<id>.<timestamp>.<body>"). */
async function signed(id: string, body: string, secret = SECRET, atMs = NOW_MS) {
  const key = Uint8Array.from(atob(secret.slice(6)), (ch) => ch.charCodeAt(0));
  const timestamp = Math.floor(atMs / 1000);
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  return { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${btoa(String.fromCharCode(...mac))}` };
}

const event = (tenantId: string, type: string, seq: number) => JSON.stringify({ type, timestamp: new Date(NOW_MS).toISOString(), data: { tenantId, seq, eventId: `aud_${seq}` } });

async function setup() {
  const signer = await newSigner("k1");
  const app = createApp({ now: () => NOW_MS });
  const appEnv = { ...envWith(stubGatehouse(() => [signer.publicJwk])), WEBHOOK_SECRET: SECRET };
  const post = (body: string, headers: Record<string, string>) => app.fetch(new Request("https://notes.test/webhooks/gatehouse", { method: "POST", headers, body }), appEnv);
  const page = async (who: typeof alice) => (await app.fetch(new Request("https://notes.test/app", { headers: { [ASSERTION_HEADER]: await assertion(signer, who) } }), appEnv)).text();
  return { post, page };
}

describe("Acme Notes receives Gatehouse's webhooks", () => {
  it("a signed webhook is kept and shown on the app page of its own tenant only", async () => {
    const { post, page } = await setup();
    const body = event("acme", "user.updated", 7);
    expect((await post(body, await signed("aud_7", body))).status).toBe(204);
    expect(await page(alice)).toContain("<code>user.updated</code>");
    expect(await page(carol)).not.toContain("user.updated");
  });

  it("a webhook with a wrong signature, another secret's, or an old timestamp is refused and not kept", async () => {
    const { post, page } = await setup();
    const body = event("acme", "user.removed", 8);
    const tampered = await post(body.replace("user.removed", "user.enabled"), await signed("aud_8", body));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ error: "WEBHOOK_REFUSED", reason: "SIGNATURE_MISMATCH" });
    expect((await post(body, await signed("aud_8", body, `whsec_${btoa("another-secret-of-enough-length-00")}`))).status).toBe(401);
    const old = await post(body, await signed("aud_8", body, SECRET, NOW_MS - 10 * 60 * 1000));
    expect(await old.json()).toMatchObject({ reason: "TIMESTAMP_OUT_OF_TOLERANCE" });
    const shown = await page(alice);
    expect(shown).not.toContain("user.removed");
    expect(shown).not.toContain("user.enabled");
  });

  it("a webhook delivered twice (same webhook-id) is kept once", async () => {
    const { post, page } = await setup();
    const body = event("acme", "session.created", 9);
    await post(body, await signed("aud_9", body));
    await post(body, await signed("aud_9", body));
    expect((await page(alice)).split("<code>session.created</code>").length - 1).toBe(1);
  });
});
