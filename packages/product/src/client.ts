/**
 * The types of `<GATEHOUSE_PATH>/client.js`, the ES module Gatehouse serves for product
 * pages (no build step: import it from that URL). To type the import, map the URL to these
 * types, e.g. in a page script's tsconfig `"paths": { "/_gatehouse/client.js":
 * ["node_modules/@gatehouse/product/src/client-module.d.ts"] }`, or cast the module:
 *
 *   const gatehouse = (await import("/_gatehouse/client.js")) as GatehouseClient;
 */
export type GatehouseClient = {
  /** fetch, plus Gatehouse's answers: 428 STEP_UP_REQUIRED opens the step-up dialog and retries once verified; a 401 for a lost session goes to sign-in and back. */
  gatehouseFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Shows the step-up dialog for a purpose; true once verified, false if cancelled. */
  stepUp(purpose: string): Promise<boolean>;
  /** Signs this browser out (POST `<GATEHOUSE_PATH>/sign-out`), then goes to SIGN_OUT_PATH. */
  signOut(): Promise<void>;
  /** The sign-in page, coming back to `returnTo` (this page by default). */
  signInUrl(returnTo?: string): string;
  /** The step-up page for a purpose, coming back to `returnTo`. */
  stepUpUrl(purpose: string, returnTo?: string): string;
};

/** What client.js exports, by name (test/product-package.test.ts checks them against the module Gatehouse serves). */
export const CLIENT_MODULE_EXPORTS = ["gatehouseFetch", "stepUp", "signOut", "signInUrl", "stepUpUrl"] as const satisfies readonly (keyof GatehouseClient)[];
