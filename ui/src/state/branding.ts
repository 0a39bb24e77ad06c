import { signal } from "@preact/signals";
import { get } from "../api/client";
import type { Branding } from "../api/types";
import { appUrl } from "./router";

/** The product's name and look (src/panel/branding.ts): Gatehouse's own until the API answers. */
export const branding = signal<Branding>({ name: "Gatehouse", logoUrl: null, accentColor: null, productUrl: null });

/** The mark on every page: the product's logo, or Gatehouse's. */
export const logoSrc = () => branding.value.logoUrl ?? appUrl("/favicon.svg");

/** Loads the branding and applies the accent colour (CSSOM, which the panel's CSP allows). Never fails the page. */
export async function loadBranding(): Promise<void> {
  try {
    branding.value = await get<Branding>("/api/branding", { ownUnauthorized: true });
    if (branding.value.accentColor) document.documentElement.style.setProperty("--accent", branding.value.accentColor);
  } catch {
    // Gatehouse's own name and colours stay: the pages work the same.
  }
}
