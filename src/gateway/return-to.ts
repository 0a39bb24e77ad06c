/**
 * Where to send the browser after sign-in. `returnTo` comes from the query string, so it
 * is attacker-controlled: only a same-origin path survives, anything else becomes "/".
 * An open redirect here would turn Gatehouse's sign-in page into a phishing relay.
 */
export const RETURN_TO_MAX_LENGTH = 2048;
const FALLBACK = "/";
// Visible ASCII only: no spaces, controls (browsers drop tabs and newlines, turning
// "/\t/evil" into "//evil"), or non-ASCII lookalikes. Real paths arrive percent-encoded.
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const MAX_DECODE_ROUNDS = 3;
const CHECK_ORIGIN = "https://return-to.invalid";

/** True when a path could leave the origin or hides a separator. */
function leavesOrigin(path: string): boolean {
  return !path.startsWith("/") || path.startsWith("//") || path.includes("\\");
}

/** The path part, percent-decoded until stable; null when it does not decode. */
function decodedPath(value: string): string | null {
  let path = value.split(/[?#]/, 1)[0] ?? "";
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    let next: string;
    try {
      next = decodeURIComponent(path);
    } catch {
      return null;
    }
    if (next === path) return path;
    path = next;
  }
  return null; // still changing after several rounds: nobody legitimate nests encodings
}

/** A same-origin path with its query (and fragment), or "/". */
export function sanitizeReturnTo(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > RETURN_TO_MAX_LENGTH) return FALLBACK;
  if (!VISIBLE_ASCII.test(value) || leavesOrigin(value)) return FALLBACK;
  // Whatever decodes the path later ("/%2F%2Fevil", "/%5Cevil") must not find a way out either.
  const decoded = decodedPath(value);
  if (decoded === null || CONTROL.test(decoded) || leavesOrigin(decoded)) return FALLBACK;
  // The URL parser is the final judge: dot segments ("/a/..//evil") must not resolve to "//".
  let resolved: URL;
  try {
    resolved = new URL(value, CHECK_ORIGIN);
  } catch {
    return FALLBACK;
  }
  if (resolved.origin !== CHECK_ORIGIN || resolved.pathname.startsWith("//")) return FALLBACK;
  return value;
}
