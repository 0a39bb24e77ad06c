/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a
 * browser that signed in successfully as an email gets
 * `__Host-gatehouse_device=<deviceId>.<mac>`, mac = HMAC-SHA256(key, deviceId ‖ email).
 * Presented again with that same email, it takes the browser past the per-account
 * ceiling (which anyone can fill) to its own per-device limit (src/auth/throttle.ts).
 * Nothing is stored server-side; a forged or re-targeted cookie fails the MAC and is
 * treated as no cookie. HttpOnly, Secure, __Host-, SameSite=Strict (only sign-in reads it).
 *
 * The HMAC keys are derived from the TOTP_ENCRYPTION_KEY key set with HKDF-SHA256
 * (RFC 5869) and their own `info` label rather than being a second secret: one secret to
 * provision and rotate, while the label makes each derived key independent of its AES key,
 * so neither use weakens the other. The cookie names the key it was made with
 * (`<deviceId>.<keyId>.<mac>`; the older `<deviceId>.<mac>` was made with the bare key,
 * LEGACY_KEY_ID): cookies made under a previous key keep working while that key is in the
 * set, and a successful sign-in renews the cookie under the current key. Once a key leaves
 * the set its cookies are treated as no cookie (the per-account limit applies until the
 * next successful sign-in). A missing or malformed key set is a 503, never a pass.
 */
import type { Context } from "hono";
import { setCookie } from "hono/cookie";
import { hostCookie } from "../lib/cookies";
import { configuredKeySet } from "../config";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../errors";
import { fromBase64Url, randomId, toBase64Url } from "../lib/crypto";
import { type ImportedKeySet, importKeySet, splitKeyId } from "../lib/key-set";

export const DEVICE_COOKIE = "gatehouse_device"; // sent as __Host-gatehouse_device
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 90 * 24 * 60 * 60;

const encoder = new TextEncoder();
const HKDF_INFO = encoder.encode("gatehouse/sign-in-device-cookie/v1");
const DEVICE_ID = /^dev_[a-z0-9]{24}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

const deriveMacKey = (raw: Uint8Array) =>
  crypto.subtle
    .importKey("raw", raw, "HKDF", false, ["deriveKey"])
    .then((base) =>
      crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: HKDF_INFO }, base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
        "sign",
        "verify",
      ]),
    );

/** The device cookie keys of this deployment, or 503 when TOTP_ENCRYPTION_KEY is unusable. */
export async function deviceCookieKeys(env: Pick<Bindings, "TOTP_ENCRYPTION_KEY">): Promise<ImportedKeySet> {
  const set = configuredKeySet(env, "totp");
  if (!set) throw new ApiError(503, "AUTH_UNAVAILABLE", "Sign-in is not configured on this deployment");
  return importKeySet(set, "device-cookie-hmac", deriveMacKey);
}

const macInput = (deviceId: string, email: string) => encoder.encode(`${deviceId}\n${email}`);

/** The device id of a valid device cookie for `email`, else null. */
export async function readDevice(c: Context<AppEnv>, keys: ImportedKeySet, email: string): Promise<string | null> {
  const cookie = hostCookie(c, DEVICE_COOKIE) ?? "";
  const dot = cookie.indexOf(".");
  const deviceId = cookie.slice(0, dot);
  const signed = dot > 0 ? splitKeyId(cookie.slice(dot + 1), 1) : null;
  const mac = signed?.fields[0];
  if (!signed || !mac || !DEVICE_ID.test(deviceId) || !MAC.test(mac)) return null;
  // A key no longer (or never) in the set: no cookie.
  const key = keys.find(signed.keyId);
  if (!key) return null;
  // WebCrypto's verify compares in constant time.
  const ok = await crypto.subtle.verify("HMAC", key, fromBase64Url(mac), macInput(deviceId, email));
  return ok ? deviceId : null;
}

/** Sets (or renews) the device cookie for `email`, keeping the device id it had. */
export async function issueDevice(c: Context<AppEnv>, keys: ImportedKeySet, email: string, deviceId: string | null): Promise<void> {
  const id = deviceId ?? randomId("dev_");
  const { current } = keys;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", current.key, macInput(id, email)));
  setCookie(c, DEVICE_COOKIE, `${id}.${current.id}.${toBase64Url(mac)}`, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    prefix: "host",
    maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
  });
}
