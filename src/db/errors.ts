/** True when `err`, or any error in its `cause` chain (Drizzle wraps D1's), matches `pattern`. */
export function failedWith(err: unknown, pattern: RegExp): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (pattern.test(String((e as Error).message ?? e))) return true;
  }
  return false;
}
