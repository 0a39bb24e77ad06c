// Small WebCrypto helpers shared by sessions, passwords, TOTP and audit.

const encoder = new TextEncoder();

export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

// The TC39 Uint8Array base64 methods, native in workerd's V8 (a snapshot cookie's payload is
// decoded on the hot path); TypeScript 5.9's lib does not declare them yet.
type Base64Options = { alphabet?: "base64" | "base64url"; omitPadding?: boolean; lastChunkHandling?: "loose" | "strict" | "stop-before-partial" };
type NativeBase64 = { fromBase64(text: string, options?: Base64Options): Uint8Array };
type NativeToBase64 = { toBase64(options?: Base64Options): string };

export function toBase64Url(bytes: Uint8Array): string {
  return (bytes as unknown as NativeToBase64).toBase64({ alphabet: "base64url", omitPadding: true });
}

/** Base64url, and for keys written before key sets also padded standard base64: either alphabet, padding optional. Throws on anything else. */
export function fromBase64Url(text: string): Uint8Array {
  return (Uint8Array as unknown as NativeBase64).fromBase64(text.replace(/-/g, "+").replace(/_/g, "/"), { alphabet: "base64", lastChunkHandling: "loose" });
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** A random public identifier: 24 characters of a 32-symbol alphabet (120 bits). */
export function randomId(prefix = ""): string {
  let id = prefix;
  for (const b of randomBytes(24)) id += ID_ALPHABET[b & 31];
  return id;
}

export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const data = typeof input === "string" ? encoder.encode(input) : input;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

/** Constant-time comparison of two strings of equal length (secret hashes, codes). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}
