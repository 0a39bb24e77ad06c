import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Harness, cookieHeader, seedTenant } from "./helpers";
import { addPasskey, finishSignIn, newAuthenticator, passkeyStepUp, signInOptions } from "./passkey-fixtures";

describe("passkeys, end to end", () => {
  it("a member adds a passkey, signs in with it alone (both factors), and steps up with it for an admin action", async () => {
    const h = new Harness();
    const t = await seedTenant("pk");
    const auth = newAuthenticator();
    const owner = await h.signIn(t.owner);
    const added = await addPasskey(h, t.owner, owner.cookie, auth, { name: "Laptop" });
    expect(added.passkey).toMatchObject({ name: "Laptop", backedUp: false, lastUsedAt: null });
    // Beside TOTP: the owner's recovery codes stay as they were.
    expect(added.recoveryCodes).toBeUndefined();

    const { challengeId, options } = await signInOptions(h);
    const res = await finishSignIn(h, challengeId, await auth.authenticate(options));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const session = await env.DB.prepare("SELECT metadata FROM user_sessions WHERE id = ?").bind(res.body.sessionId).first<{ metadata: string }>();
    expect(JSON.parse(session!.metadata).amr).toEqual(["hwk", "user", "mfa"]);

    const cookie = cookieHeader(res.cookie!);
    await passkeyStepUp(h, cookie, "FORCE_LOGOUT", auth);
    const logout = await h.call(`/api/users/${t.member.id}/force-logout`, { cookie, method: "POST", body: {} });
    expect(logout.status, JSON.stringify(logout.body)).toBe(200);
    const listed = await h.call<{ passkeys: { lastUsedAt: string | null }[] }>("/api/security/mfa/passkeys", { cookie });
    expect(listed.body.passkeys[0]?.lastUsedAt).not.toBeNull();
  });
});
