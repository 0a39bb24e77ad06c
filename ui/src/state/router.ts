import { signal } from "@preact/signals";

/** The current location, as signals: pages re-render when it changes. */
export const pathname = signal(location.pathname);
export const search = signal(location.search);

export function navigate(to: string, { replace = false } = {}): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  pathname.value = location.pathname;
  search.value = location.search;
  // A new page: put keyboard and screen-reader users at its start, not mid-air.
  queueMicrotask(() => document.querySelector<HTMLElement>("main h1")?.focus());
}

addEventListener("popstate", () => {
  pathname.value = location.pathname;
  search.value = location.search;
});

/** Client-side navigation for in-app links, leaving modified clicks to the browser. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget as HTMLAnchorElement;
  if (a.origin !== location.origin || a.hasAttribute("download")) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
