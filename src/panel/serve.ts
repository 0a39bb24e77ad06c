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
import type { AppEnv } from "../env";

export const PANEL_SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

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
    for (const [name, value] of Object.entries(PANEL_SECURITY_HEADERS)) headers.set(name, value);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
}
