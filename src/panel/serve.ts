/**
 * The security panel: static files built by vite into dist/panel, served under the
 * Gatehouse path through the ASSETS binding (wrangler.toml sends every request to the
 * worker first, so the rest of the host can belong to the product).
 *
 * The panel is built for the GATEHOUSE_PATH in wrangler.toml (ui/vite.config.ts reads
 * it), so its pages ask for `<path>/assets/...`; the path is taken off here before the
 * lookup. The page's security headers are set here, in one place, for every panel
 * response (a `_headers` file would not reach responses the worker builds).
 */
import type { Context } from "hono";
import { parseConfig } from "../config";
import type { AppEnv } from "../env";
import { logoOrigin } from "./branding";

/** `logo`: the product logo's origin (PRODUCT_LOGO_URL, ./branding.ts), the one other place an image may come from. */
const panelCsp = (frameAncestors: "'none'" | "'self'", logo: string | null = null) =>
  `default-src 'self'; img-src 'self' data:${logo ? ` ${logo}` : ""}; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors ${frameAncestors}; base-uri 'none'; form-action 'self'`;

const panelHeaders = (logo: string | null): Record<string, string> => ({
  "Content-Security-Policy": panelCsp("'none'", logo),
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
});

export const PANEL_SECURITY_HEADERS = panelHeaders(null);

/**
 * The step-up page is the one panel page a same-origin product page may frame: the client
 * module (`<GATEHOUSE_PATH>/client.js`) opens it as a dialog over the product. Everything
 * else stays unframeable. Only the document's own load is affected: the rest of the panel,
 * reached by its router inside that frame, runs in the same document and policy.
 */
export const STEP_UP_PAGE = "/step-up";
const stepUpPageHeaders = (logo: string | null): Record<string, string> => ({
  ...panelHeaders(logo),
  "Content-Security-Policy": panelCsp("'self'", logo),
  "X-Frame-Options": "SAMEORIGIN",
});
export const STEP_UP_PAGE_HEADERS = stepUpPageHeaders(null);

export function servePanel(options: { basePath: string }) {
  const { basePath } = options;
  return async function panel(c: Context<AppEnv>): Promise<Response> {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice(basePath.length) || "/";
    const assets = c.env.ASSETS;
    const res = assets
      ? await assets.fetch(new Request(url, { method: c.req.method, headers: c.req.raw.headers }))
      : new Response("The panel is not built (npm run build:ui)", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    const headers = new Headers(res.headers);
    const logo = logoOrigin(parseConfig(c.env).branding);
    const own = url.pathname === STEP_UP_PAGE ? stepUpPageHeaders(logo) : panelHeaders(logo);
    for (const [name, value] of Object.entries(own)) headers.set(name, value);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
}
