import { parseConfig } from "../config";
import type { Bindings } from "../env";

export type SessionTimeouts = { absoluteSeconds: number; idleSeconds: number };

/** last_seen_at is written at most this often per session (keeps D1/KV writes low). */
export const LAST_SEEN_REFRESH_SECONDS = 120;

/** The deployment's session timeouts (SESSION_*_TIMEOUT_SECONDS, validated by parseConfig). */
export function sessionTimeouts(env: Bindings): SessionTimeouts {
  const config = parseConfig(env);
  return { absoluteSeconds: config.sessionAbsoluteTimeoutSeconds, idleSeconds: config.sessionIdleTimeoutSeconds };
}
