import type { Bindings } from "../env";

export type SessionTimeouts = { absoluteSeconds: number; idleSeconds: number };

// NIST SP 800-63B-4 §2.2.3 (AAL2): reauthenticate at least every 24 h and after
// at most 1 h of inactivity. wrangler.toml may tighten or relax them per deployment.
const DEFAULT_ABSOLUTE_SECONDS = 24 * 60 * 60;
const DEFAULT_IDLE_SECONDS = 60 * 60;

/** last_seen_at is written at most this often per session (keeps D1/KV writes low). */
export const LAST_SEEN_REFRESH_SECONDS = 120;

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`Invalid session timeout: ${value}`);
  return n;
}

export function sessionTimeouts(env: Bindings): SessionTimeouts {
  return {
    absoluteSeconds: positiveInt(env.SESSION_ABSOLUTE_TIMEOUT_SECONDS, DEFAULT_ABSOLUTE_SECONDS),
    idleSeconds: positiveInt(env.SESSION_IDLE_TIMEOUT_SECONDS, DEFAULT_IDLE_SECONDS),
  };
}
