/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a
 * browser that signed in successfully as an email gets
 * `__Host-gatehouse_device=<deviceId>.<mac>`, mac = HMAC-SHA256(key, deviceId ‖ email).
 * Presented again with that same email, it takes the browser past the per-account
 * ceiling (which anyone can fill) to its own per-device limit (src/auth/throttle.ts).
 * Nothing is stored server-side; a forged or re-targeted cookie fails the MAC and is
 * treated as no cookie. HttpOnly, Secure, __Host-, SameSite=Strict (only sign-in reads it).
 *
 * The HMAC key is derived from TOTP_ENCRYPTION_KEY with HKDF-SHA256 (RFC 5869) and its
 * own `info` label rather than being a second secret: one secret to provision and
 * rotate, while the label makes the derived key independent of the AES key, so neither
 * use weakens the other. Rotating TOTP_ENCRYPTION_KEY (which re-seals TOTP secrets
 * anyway) voids every device cookie; browsers then meet the per-account limit until
 * their next successful sign-in. A missing or malformed key is a 503, never a pass.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { fromBase64Url, randomId, toBase64Url } from "../lib/crypto";

export const DEVICE_COOKIE = "gatehouse_device"; // sent as __Host-gatehouse_device
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 90 * 24 * 60 * 60;

const encoder = new TextEncoder();
const HKDF_INFO = encoder.encode("gatehouse/sign-in-device-cookie/v1");
const DEVICE_ID = /^dev_[a-z0-9]{24}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

let memo: { secret: string; key: Promise<CryptoKey> } | null = null;

function decodeKey(secret: string | undefined): Uint8Array | null {
  if (!secret) return null;
  try {
    const raw = fromBase64Url(secret);
    return raw.byteLength === 32 ? raw : null;
  } catch {
    return null;
  }
}

/** The device cookie key for this deployment, or 503 when TOTP_ENCRYPTION_KEY is unusable. */
export async function deviceCookieKey(secret: string | undefined): Promise<CryptoKey> {
  const raw = decodeKey(secret);
  if (!raw || !secret) throw new ApiError(503, "AUTH_UNAVAILABLE", "Sign-in is not configured on this deployment");
  if (memo?.secret !== secret) {
    const key = crypto.subtle
      .importKey("raw", raw, "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: HKDF_INFO }, base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
          "sign",
          "verify",
        ]),
      );
    memo = { secret, key };
  }
  return memo.key;
}

const macInput = (deviceId: string, email: string) => encoder.encode(`${deviceId}\n${email}`);

/** The device id of a valid device cookie for `email`, else null. */
export async function readDevice(c: Context<AppEnv>, key: CryptoKey, email: string): Promise<string | null> {
  const value = getCookie(c, DEVICE_COOKIE, "host");
  const [deviceId, mac, extra] = value?.split(".") ?? [];
  if (!deviceId || !mac || extra !== undefined || !DEVICE_ID.test(deviceId) || !MAC.test(mac)) return null;
  // WebCrypto's verify compares in constant time.
  const ok = await crypto.subtle.verify("HMAC", key, fromBase64Url(mac), macInput(deviceId, email));
  return ok ? deviceId : null;
}

/** Sets (or renews) the device cookie for `email`, keeping the device id it had. */
export async function issueDevice(c: Context<AppEnv>, key: CryptoKey, email: string, deviceId: string | null): Promise<void> {
  const id = deviceId ?? randomId("dev_");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, macInput(id, email)));
  setCookie(c, DEVICE_COOKIE, `${id}.${toBase64Url(mac)}`, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    prefix: "host",
    maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
  });
}
