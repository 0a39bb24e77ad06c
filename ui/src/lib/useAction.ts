import { useSignal } from "@preact/signals";
import { useRef } from "preact/hooks";
import { describeError, isCancelled } from "./errors";

export type ActionOptions = {
  /** Handles a failure instead of putting its words in `error` (field errors, a toast). */
  onError?: (err: unknown) => void;
};

/**
 * The busy / error / submit pattern every form and confirm button shares: one run at a
 * time (a second click while busy does nothing), the last failure in words, and a
 * step-up the person cancelled is not a failure.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>, options: ActionOptions = {}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const latest = useRef({ action, options });
  latest.current = { action, options };

  /** Resolves true when the action completed, false when it failed, was cancelled or was already running. */
  async function run(...args: A): Promise<boolean> {
    if (busy.value) return false;
    busy.value = true;
    error.value = null;
    try {
      await latest.current.action(...args);
      return true;
    } catch (err) {
      if (isCancelled(err)) return false;
      const { onError } = latest.current.options;
      if (onError) onError(err);
      else error.value = describeError(err);
      return false;
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, run };
}
