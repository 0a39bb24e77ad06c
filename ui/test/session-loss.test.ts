// The panel's reaction to a lost session (ui/src/state/auth.ts), in Node with the few
// browser globals its router reads: the sign-in page must say why the session ended.
import { beforeAll, describe, expect, it } from "vitest";

type Auth = typeof import("../src/state/auth");
let auth: Auth;

beforeAll(async () => {
  // A location and history the router can move, before it reads them at import.
  let url = new URL("https://app.example/_gatehouse/security/two-factor");
  const globals = globalThis as unknown as Record<string, unknown>;
  globals.location = { get pathname() { return url.pathname; }, get search() { return url.search; } };
  globals.history = { replaceState: (_s: unknown, _t: string, to: string) => (url = new URL(to, url)), pushState: (_s: unknown, _t: string, to: string) => (url = new URL(to, url)) };
  globals.addEventListener = () => undefined;
  globals.document = { querySelector: () => null };
  auth = await import("../src/state/auth");
});

const signedIn = () => ({ user: { permissions: [] } }) as unknown as NonNullable<Auth["me"]["value"]>;

describe("the panel after a lost session", () => {
  it("keeps the first reason when requests in flight come back unauthorized after it", () => {
    auth.me.value = signedIn();
    auth.signInNotice.value = null;
    auth.sessionLost("SESSION_INVALIDATED");
    auth.sessionLost("UNAUTHORIZED");
    expect(auth.signInNotice.value).toBe("You were signed out everywhere by an administrator. Sign in again to continue.");
    expect(auth.me.value).toBeNull();
  });

  it("tells the reason of a session lost after signing in again, not the one before", () => {
    auth.me.value = signedIn();
    auth.signInNotice.value = "You were signed out everywhere by an administrator. Sign in again to continue.";
    auth.sessionLost("SESSION_REVOKED");
    expect(auth.signInNotice.value).toBe("Your session was revoked. Sign in again to continue.");
  });
});
