/**
 * Text as storage keeps it. D1 stores UTF-8: a lone UTF-16 surrogate cannot be encoded
 * and comes back as U+FFFD, so a string that was hashed, logged or compared before it
 * was stored would no longer match what is read back. Every client-supplied string that
 * is stored is made well-formed first, and cut by whole code points, never mid-pair.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** String.prototype.toWellFormed: each lone surrogate becomes U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** At most `maxCodePoints` whole code points of a well-formed copy of `text`. */
export function truncateCodePoints(text: string, maxCodePoints: number): string {
  const clean = wellFormed(text);
  // Fast path: no string of this many UTF-16 units can hold more code points.
  if (clean.length <= maxCodePoints) return clean;
  let out = "";
  let count = 0;
  for (const codePoint of clean) {
    if (count === maxCodePoints) break;
    out += codePoint;
    count++;
  }
  return out;
}

/** A JSON-bound value with every string in it (object keys included) well-formed. */
export function wellFormedDeep(value: unknown): unknown {
  if (typeof value === "string") return wellFormed(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(wellFormedDeep);
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return wellFormedDeep((value as { toJSON: () => unknown }).toJSON());
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // defineProperty, not assignment: a "__proto__" key stays an ordinary key, as JSON.parse makes it.
    Object.defineProperty(out, wellFormed(k), { value: wellFormedDeep(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
