// Signs a demo user in over HTTP, as the panel does, and returns the cookie to replay.
import * as OTPAuth from "otpauth";
import { DEMO_PASSWORD, DEMO_USERS } from "../scripts/demo-data.mjs";

const TIMEOUT_MS = 10_000; // a request that hangs fails the run instead of stalling it

/**
 * Each bench phase has fresh state, so one TOTP code per phase is never a replay.
 * `timeoutMs`: longer for a first sign-in that may wait on work it set off (bench/run.mjs).
 */
export async function signIn(baseUrl, email, { timeoutMs = TIMEOUT_MS } = {}) {
  const user = DEMO_USERS.find((u) => u.email === email);
  const totpCode = user.totp ? new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(user.totp) }).generate() : undefined;
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: DEMO_PASSWORD, totpCode }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const setCookie = res.headers.get("set-cookie");
  if (res.status !== 200 || !setCookie) throw new Error(`sign-in as ${email} failed: ${res.status} ${await res.text()}`);
  // As a browser sends them back: the session cookie and the session snapshot (src/sessions/snapshot.ts).
  const cookie = withSnapshotOf(res, sessionCrumb(res.headers.getSetCookie()));
  if (!cookie.includes(SNAPSHOT)) throw new Error(`sign-in as ${email} set no session snapshot: is SESSION_SNAPSHOT_KEYS in .dev.vars and in wrangler.toml's [secrets] required?`);
  return cookie;
}

const SESSION = "__Host-gatehouse_session=";
const SNAPSHOT = "__Host-gatehouse_snapshot=";
const sessionCrumb = (lines) => lines.map((l) => l.split(";")[0]).find((c) => c.startsWith(SESSION));

/** `cookie` with the snapshot cookie `res` sets, if it sets one (else as it was). */
function withSnapshotOf(res, cookie) {
  const snapshot = res.headers.getSetCookie().map((l) => l.split(";")[0]).find((c) => c.startsWith(SNAPSHOT) && c.length > SNAPSHOT.length);
  if (!snapshot) return cookie;
  return [...cookie.split("; ").filter((c) => !c.startsWith(SNAPSHOT)), snapshot].join("; ");
}

/**
 * A snapshot is trusted for 5 minutes after its state was read, so the bench renews them
 * before each run: one GET /api/me with the session cookie alone (the per-session path,
 * which issues a new snapshot), returning the session cookie with that snapshot.
 */
export async function renewSnapshot(baseUrl, cookie) {
  const session = cookie.split("; ").filter((c) => !c.startsWith(SNAPSHOT)).join("; ");
  const res = await fetch(`${baseUrl}/api/me`, { headers: { cookie: session }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET /api/me: ${res.status} ${body}`);
  const renewed = withSnapshotOf(res, session);
  if (!renewed.includes(SNAPSHOT)) throw new Error("GET /api/me with the session cookie alone set no session snapshot");
  return renewed;
}

/** GET that must answer 200 (the bench measures working requests only). */
export async function getOk(baseUrl, path, cookie) {
  const res = await fetch(`${baseUrl}${path}`, { headers: { cookie }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body}`);
  return JSON.parse(body);
}
