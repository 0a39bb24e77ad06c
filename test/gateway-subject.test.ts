import { describe, expect, it } from "vitest";
import type { AuthSession, AuthUser } from "../src/env";
import { assertionSubjectOf } from "../src/gateway/subject";
import { START_MS } from "./helpers";

const alice: AuthUser = { id: "u-alice", tenantId: "acme", email: "alice@acme.test", displayName: "Alice", role: "owner", sessionVersion: 3, disabledAt: null, totpEnabled: true, passkeyCount: 0, permissionOverrides: null };
const bob: AuthUser = { id: "u-bob", tenantId: "acme", email: "bob@acme.test", displayName: "Bob", role: "member", sessionVersion: 1, disabledAt: null, totpEnabled: false, passkeyCount: 0, permissionOverrides: { granted: ["SETTINGS_TEAM_VIEW"], revoked: [] } };
const session: AuthSession = { id: "sess1", tenantId: "acme", userId: "u-alice", tokenHash: "h", sessionVersion: 3, createdAt: START_MS, lastSeenAt: START_MS, expiresAt: START_MS + 86_400_000, revokedAt: null, revokeReason: null, amr: ["pwd", "otp"], impersonation: null };

describe("the assertion subject from the edge check", () => {
  it("the subject is the session's user with their effective permissions, the session's amr and no act", () => {
    const subject = assertionSubjectOf({ session, user: alice, realUser: alice, actor: { realUserId: null, isImpersonating: false } });
    expect(subject).toEqual({
      sessionId: "sess1",
      sessionVersion: 3,
      tenantId: "acme",
      user: { id: "u-alice", email: "alice@acme.test", name: "Alice", role: "owner", permissions: ["SETTINGS_SECURITY_VIEW", "SETTINGS_SECURITY_EDIT", "SETTINGS_TEAM_VIEW"] },
      amr: ["pwd", "otp"],
      actor: null,
      notAfterMs: session.expiresAt,
    });
  });

  it("while impersonating, the subject is the target, act is the real user, and it ends with the impersonation", () => {
    const impersonation = { userId: "u-bob", reason: "support ticket", startedAt: START_MS, expiresAt: START_MS + 1_800_000 };
    const subject = assertionSubjectOf({ session: { ...session, impersonation }, user: bob, realUser: alice, actor: { realUserId: "u-alice", isImpersonating: true } });
    expect(subject.user).toEqual({ id: "u-bob", email: "bob@acme.test", name: "Bob", role: "member", permissions: ["SETTINGS_TEAM_VIEW"] });
    expect(subject.actor).toEqual({ id: "u-alice", email: "alice@acme.test", name: "Alice" });
    expect(subject.notAfterMs).toBe(impersonation.expiresAt);
  });
});
