import { signal } from "@preact/signals";

/**
 * Where the panel lives on the host (GATEHOUSE_PATH, e.g. "/_gatehouse"; the build takes
 * it from wrangler.toml as vite's base). Page paths inside the app ("/security/sessions")
 * never include it; `appUrl` adds it for links and the address bar, `inApp` takes it off.
 */
export const BASE_PATH = import.meta.env.BASE_URL.replace(/\/$/, "");

export const appUrl = (path: string) => `${BASE_PATH}${path}`;

function inApp(fullPath: string): string {
  if (fullPath === BASE_PATH) return "/";
  return fullPath.startsWith(`${BASE_PATH}/`) ? fullPath.slice(BASE_PATH.length) : fullPath;
}

/** The current location inside the app, as signals: pages re-render when it changes. */
export const pathname = signal(inApp(location.pathname));
export const search = signal(location.search);

export function navigate(to: string, { replace = false } = {}): void {
  const full = appUrl(to);
  if (full === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", full);
  else history.pushState(null, "", full);
  pathname.value = inApp(location.pathname);
  search.value = location.search;
  // A new page: put keyboard and screen-reader users at its start, not mid-air.
  queueMicrotask(() => document.querySelector<HTMLElement>("main h1")?.focus());
}

addEventListener("popstate", () => {
  pathname.value = inApp(location.pathname);
  search.value = location.search;
});

/** Client-side navigation for in-app links, leaving modified clicks to the browser. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget as HTMLAnchorElement;
  if (a.origin !== location.origin || a.hasAttribute("download")) return;
  if (a.pathname !== BASE_PATH && !a.pathname.startsWith(`${BASE_PATH}/`)) return;
  e.preventDefault();
  navigate(inApp(a.pathname) + a.search);
}
