import { signal } from "@preact/signals";

/** Wall clock for relative times and countdowns; one timer for the whole panel. */
export const now = signal(Date.now());
setInterval(() => {
  now.value = Date.now();
}, 1000);
