/**
 * When a failed delivery is tried again: exponential backoff from 10 seconds, doubling per
 * consecutive failure, at most an hour apart (a receiver down for a day is tried about 30
 * times). The one schedule: the object's stream state and the queue's retries both use it.
 */
export const FIRST_RETRY_SECONDS = 10;
export const MAX_RETRY_SECONDS = 3600;

/** The delay before attempt `failures + 1`, after `failures` (≥ 1) consecutive failures. */
export function retryDelaySeconds(failures: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  return Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** exponent);
}
