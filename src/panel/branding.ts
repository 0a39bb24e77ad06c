/**
 * The product's own name on the pages its users see: the operator sets it once
 * (PRODUCT_NAME, and optionally PRODUCT_LOGO_URL, PRODUCT_ACCENT_COLOR, PRODUCT_URL), and
 * sign-in, invitation, step-up, reset and panel pages use it instead of "Gatehouse".
 * Validated at startup (src/config.ts); served to the panel by `GET /api/branding`.
 *
 * Threat model: a value that would break out of where it is shown (the panel renders text
 * as text; the name refuses control and bidirectional characters, the colour is #rrggbb
 * only, the URLs are https or a path on this host), a logo that tracks visitors from an
 * arbitrary host (the panel's CSP lets images come from the logo's origin alone:
 * ./serve.ts), and an accent colour nobody can read (refused below 4.5:1 against white,
 * WCAG's AA for text, since links and focus rings use it).
 */
import { object, string } from "zod";
import { isLoopbackHost } from "../lib/origin";

export type Branding = {
  /** The product's name: "Sign in to <name>". */
  name: string;
  /** An image of the product's mark, https (or a path on this host); null: Gatehouse's own. */
  logoUrl: string | null;
  /** #rrggbb for links, focus rings and the current page's mark; null: the panel's blue. */
  accentColor: string | null;
  /** Where "Back to <name>" leads: the product's home (https, or a path on this host); null: no link. */
  productUrl: string | null;
};

export const DEFAULT_PRODUCT_NAME = "Gatehouse";

/** Relative luminance of #rrggbb (WCAG 2.x). */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const v = parseInt(hex.slice(1 + i * 2, 3 + i * 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

/** Contrast of #rrggbb against white: (1.05) / (L + 0.05). */
export const contrastOnWhite = (hex: string) => 1.05 / (luminance(hex) + 0.05);

/** An https URL (http on this machine), or a path on this host ("/", "/brand/logo.svg"). */
const linkOrPath = (what: string) =>
  string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (!v) return null;
      if (/^\/(?!\/)[^\s\\]*$/.test(v)) return v;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({ code: "custom", message: `must be an https:// URL or a path on this host starting with / (${what})` });
        return null;
      }
      if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) ctx.addIssue({ code: "custom", message: "must use https://" });
      if (url.username || url.password) ctx.addIssue({ code: "custom", message: "must not carry credentials" });
      return url.toString();
    });

export const brandingVars = object({
  PRODUCT_NAME: string()
    .trim()
    .max(60, "must be at most 60 characters")
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, "must not contain control or formatting (bidirectional) characters")
    .optional()
    .transform((v) => v || DEFAULT_PRODUCT_NAME),
  PRODUCT_LOGO_URL: linkOrPath("the product's logo"),
  PRODUCT_ACCENT_COLOR: string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (!v) return null;
      if (!/^#[0-9a-fA-F]{6}$/.test(v)) {
        ctx.addIssue({ code: "custom", message: "must be a colour written #rrggbb" });
        return null;
      }
      const ratio = contrastOnWhite(v);
      if (ratio < 4.5) ctx.addIssue({ code: "custom", message: `must be dark enough to read on white: contrast ${ratio.toFixed(2)}:1, at least 4.5:1 needed` });
      return v.toLowerCase();
    }),
  PRODUCT_URL: linkOrPath("the product's home"),
});

export type BrandingEnv = { PRODUCT_NAME?: string; PRODUCT_LOGO_URL?: string; PRODUCT_ACCENT_COLOR?: string; PRODUCT_URL?: string };

/** The origin a logo's image comes from, for the panel's img-src; null for none or a path on this host. */
export function logoOrigin(branding: Branding): string | null {
  return branding.logoUrl && !branding.logoUrl.startsWith("/") ? new URL(branding.logoUrl).origin : null;
}
