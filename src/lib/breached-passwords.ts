/**
 * Is a new password in a known breach? Have I Been Pwned's Pwned Passwords range API, by
 * k-anonymity: only the first 5 hex characters of the password's SHA-1 leave the Worker;
 * the API answers every suffix it knows under that prefix (padded with decoys, `Add-Padding`)
 * and the match is made here. The password, its full hash and the account never leave.
 *
 * Fails OPEN, on purpose, and only this check: an unreachable, slow (over
 * PWNED_PASSWORDS_TIMEOUT_MS), failing or garbled answer accepts the password as far as
 * this check goes, logged as a warning. The reason: this is a check of the quality of a
 * secret the person chooses, not an access decision. The bundled list
 * (./common-passwords.ts) and every other rule of ./password-policy.ts still apply in full;
 * refusing every new password while a third party is down would stop every invitation,
 * reset and password change (account recovery included), a denial of service in someone
 * else's hands, for a marginal gain over the bundled list. Nothing is granted by this
 * verdict: sign-in, sessions and step-up never call it.
 *
 * PWNED_PASSWORDS_API: the API's base URL (default https://api.pwnedpasswords.com; https
 * only, except on this machine, so a local fixture stands in for it in tests), or `off`
 * for a deployment that must not call out (the bundled list alone then).
 */
import { string } from "zod";
import { log } from "./log";
import { isLoopbackHost } from "./origin";

export const DEFAULT_PWNED_PASSWORDS_API = "https://api.pwnedpasswords.com";
const PWNED_PASSWORDS_TIMEOUT_MS = 2_000;

/** The API's base URL, or null when the check is off. Validated at startup (src/config.ts). */
export const pwnedPasswordsApiVar = string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (!v) return DEFAULT_PWNED_PASSWORDS_API;
    if (v === "off") return null;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an https:// URL (the range API's base) or off" });
      return null;
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
      ctx.addIssue({ code: "custom", message: "must use https:// (http:// only for localhost, 127.0.0.1 or [::1])" });
    }
    if (url.username || url.password || url.search || url.hash) ctx.addIssue({ code: "custom", message: "must be a plain base URL: no credentials, query or fragment" });
    return url.toString().replace(/\/+$/, "");
  });

export type BreachVerdict = "breached" | "not-found" | "unavailable";

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** The range answer's lines, `SUFFIX:COUNT`: is `suffix` there with a count above 0 (padding lines count 0)? */
function rangeHolds(body: string, suffix: string): boolean | null {
  for (const line of body.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const match = /^([0-9A-F]{35}):(\d+)$/i.exec(line.trim());
    if (!match) return null;
    if (match[1]?.toUpperCase() === suffix) return Number(match[2]) > 0;
  }
  return false;
}

/** Looks `password` (already NFKC-normalised) up by its hash prefix. `apiBase`: null when the check is off. */
export async function breachVerdict(password: string, apiBase: string | null): Promise<BreachVerdict> {
  if (apiBase === null) return "not-found";
  const hash = await sha1Hex(password);
  const [prefix, suffix] = [hash.slice(0, 5), hash.slice(5)];
  try {
    const res = await fetch(`${apiBase}/range/${prefix}`, {
      headers: { "Add-Padding": "true", "user-agent": "Gatehouse" },
      signal: AbortSignal.timeout(PWNED_PASSWORDS_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`answered ${res.status}`);
    const holds = rangeHolds(await res.text(), suffix);
    if (holds === null) throw new Error("answered something other than SUFFIX:COUNT lines");
    return holds ? "breached" : "not-found";
  } catch (err) {
    log.warn("breached-password check unavailable; the bundled list alone applied", { problem: err instanceof Error ? err.message : String(err) });
    return "unavailable";
  }
}
