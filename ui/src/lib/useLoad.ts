import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { describeError } from "./errors";

/** Loads data into signals on mount (and when `deps` change); `reload` refreshes in place. */
export function useLoad<T>(loader: () => Promise<T>, deps: unknown[] = []) {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<string | null>(null);
  const loading = useSignal(true);
  const latest = useRef(loader);
  latest.current = loader;
  // Drops answers to superseded loads so a slow response never overwrites a newer one.
  const generation = useRef(0);

  async function reload(): Promise<void> {
    const mine = ++generation.current;
    loading.value = true;
    try {
      const value = await latest.current();
      if (mine !== generation.current) return;
      data.value = value;
      error.value = null;
    } catch (err) {
      if (mine === generation.current) error.value = describeError(err);
    } finally {
      if (mine === generation.current) loading.value = false;
    }
  }

  useEffect(() => {
    void reload();
  }, deps);

  return { data, error, loading, reload };
}
