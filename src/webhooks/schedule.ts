/**
 * The one retry schedule of a failed webhook delivery: exponential backoff from 30 s,
 * doubling, capped at an hour between attempts, for a day from the event's first failed
 * attempt; then the event is dead-lettered (./dead-letters.ts) and the tenant's later
 * events go on. About 30 attempts fit in the day: the queue's max_retries (wrangler.toml,
 * 100) never runs out first.
 */

export const FIRST_RETRY_SECONDS = 30;
export const MAX_RETRY_SECONDS = 60 * 60;
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Seconds to wait after the `attempts`-th failed attempt (1 = the first failure). */
export function retryDelaySeconds(attempts: number): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 20));
  return Math.min(FIRST_RETRY_SECONDS * 2 ** exponent, MAX_RETRY_SECONDS);
}

/** Whether an event whose first attempt failed at `firstFailedAtMs` has used up its day. */
export const retriesExhausted = (firstFailedAtMs: number, nowMs: number) => nowMs - firstFailedAtMs >= RETRY_WINDOW_MS;
