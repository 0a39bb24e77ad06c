/**
 * The product HTTP API (`<GATEHOUSE_PATH>/api/product/…`, docs/rpc.md "Over HTTP"): the
 * RPC's recordAuditEvent and requireStepUp for a server that is not a Worker. Call it from
 * your server only (a request carrying a browser's fetch metadata, Origin or cookies is
 * refused), with one of PRODUCT_API_TOKENS and the assertion of the request you are
 * handling; answers are the RPC's, refusals `{ ok: false, status, error, message, ... }`.
 */
import type { ProductAuditEvent, RecordAuditEventResult, RequireStepUpResult, RpcFailure } from "./rpc.js";
import { ASSERTION_HEADER } from "./claims.js";

export type ProductApiOptions = {
  /** Where Gatehouse answers your server, e.g. "https://app.example.com" (PUBLIC_ORIGIN) or an internal address. */
  gatehouseUrl: string;
  /** One of PRODUCT_API_TOKENS. Keep it on the server. */
  token: string;
  /** GATEHOUSE_PATH, default "/_gatehouse". */
  gatehousePath?: string;
  /** The fetch to use (a test's, or a service binding's); the global one by default. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
};

export type ProductApiClient = {
  /** Records one `app.…` event as the assertion's user, in its session's tenant. */
  recordAuditEvent(assertion: string, event: ProductAuditEvent): Promise<RecordAuditEventResult>;
  /** Claims a grant of the assertion's session for a declared product purpose, or 428 STEP_UP_REQUIRED. */
  requireStepUp(assertion: string, purpose: string): Promise<RequireStepUpResult>;
};

export function createProductApiClient(options: ProductApiOptions): ProductApiClient {
  const base = `${options.gatehouseUrl.replace(/\/$/, "")}${options.gatehousePath ?? "/_gatehouse"}/api/product`;
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  async function post<T>(path: string, assertion: string, body: unknown): Promise<T | RpcFailure> {
    const response = await send(`${base}/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, [ASSERTION_HEADER]: assertion, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (response.ok && answer) return answer as T;
    const { error, message, ...details } = answer ?? {};
    return { ...details, ok: false, status: response.status, error: typeof error === "string" ? error : "HTTP_ERROR", message: typeof message === "string" ? message : response.statusText };
  }
  return {
    recordAuditEvent: (assertion, event) => post("audit-events", assertion, event),
    requireStepUp: (assertion, purpose) => post("step-up", assertion, { purpose }),
  };
}
