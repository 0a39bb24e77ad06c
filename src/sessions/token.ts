/**
 * Session tokens, after Lucia's design: the cookie carries `<id>.<secret>`; D1 and
 * KV store only SHA-256(secret). A leaked database or cache yields no usable token,
 * and the id lets us find the row without comparing secrets in a query.
 */
import { randomBytes, randomId, sha256Hex, toBase64Url } from "../lib/crypto";

// Hono adds the `__Host-` prefix (prefix: "host"): Secure, Path=/, no Domain.
export const SESSION_COOKIE = "gatehouse_session";
const SECRET_BYTES = 32; // 256 bits (OWASP ASVS 3.2.2 asks for at least 64).

export type NewSessionToken = { id: string; token: string; tokenHash: string };

export async function generateSessionToken(): Promise<NewSessionToken> {
  const id = randomId();
  const secret = toBase64Url(randomBytes(SECRET_BYTES));
  return { id, token: `${id}.${secret}`, tokenHash: await sha256Hex(secret) };
}

export function parseSessionToken(value: string | undefined): { id: string; secret: string } | null {
  if (!value || value.length > 200) return null;
  const dot = value.indexOf(".");
  if (dot <= 0) return null;
  const id = value.slice(0, dot);
  const secret = value.slice(dot + 1);
  if (!/^[a-z0-9]{1,64}$/.test(id) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { id, secret };
}
