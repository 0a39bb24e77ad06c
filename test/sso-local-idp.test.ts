// The whole single sign-on flow against a real OpenID Provider: the local IdP (scripts/idp.mjs,
// oidc-provider, started for the run by test/local-idp-setup.mjs), its login and consent pages
// driven as a browser would, into a Gatehouse session.
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { Harness, type SeededTenant, seedTenant } from "./helpers";
import { CookieJar, loginAtLocalIdp } from "./local-idp-login";
import { Jar } from "./snapshot-fixtures";

const idp = inject("localIdp");
const [samir] = idp.accounts;
if (!samir) throw new Error("the local IdP has the demo's accounts");
const domain = samir.email.slice(samir.email.indexOf("@") + 1);

/** The owner saves the connection to the local IdP through the API (its real discovery document, over loopback http). */
async function connect(h: Harness, t: SeededTenant, jitProvisioning: boolean) {
  const { cookie } = await h.session(t.owner);
  await h.stepUp(cookie, "SSO_CHANGE", t.owner);
  const body = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, domains: [domain], jitProvisioning, defaultRole: "member", requireSso: false };
  const res = await h.call<{ connection: { redirectUri: string } }>("/api/tenant/sso", { method: "PUT", cookie, body });
  expect(res.status).toBe(200);
  expect(res.body.connection.redirectUri).toBe(idp.redirectUri);
}

describe("single sign-on through the local OpenID Provider", () => {
  it("a full authorization code flow through the provider's login page ends in a Gatehouse session for the member it names", async () => {
    const h = new Harness();
    const t = await seedTenant("initech");
    await connect(h, t, true);
    // The provider's ID token carries the real time: from here Gatehouse's clock is the real one
    // (set after the owner's step-up, which moved the test clock on to a fresh TOTP step).
    h.clock.ms = Date.now();
    const browser = new Jar();
    const start = await h.call(`/api/auth/sso/start?email=${encodeURIComponent(samir.email)}&returnTo=%2Fnotes`, { headers: { accept: "text/html" } });
    expect(start.status).toBe(302);
    browser.take(start);
    const callbackUrl = await loginAtLocalIdp(start.headers.get("location") ?? "", samir, new CookieJar());
    const callback = await h.call(`${callbackUrl.pathname}${callbackUrl.search}`, { cookie: browser.header, headers: { accept: "text/html" } });
    expect([callback.status, callback.headers.get("location")]).toEqual([302, "/notes"]);
    browser.take(callback);
    const me = await h.call<{ user: { email: string; displayName: string } }>("/api/me", { cookie: browser.header });
    expect(me.body.user).toMatchObject({ email: samir.email, displayName: samir.name });
    const session = await env.DB.prepare("SELECT metadata, sso_sid FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?").bind(samir.email).first<{ metadata: string; sso_sid: string }>();
    expect(JSON.parse(session?.metadata ?? "{}")).toEqual({ amr: ["pwd", "fed"] });
    expect(session?.sso_sid).toEqual(expect.any(String));
  });
});
