/**
 * The product's calls, as plain functions over the RPC engine (./app.ts): the
 * GatehouseService entrypoint (./service.ts) and the product's HTTP API
 * (src/product-api/routes.ts) both run these, so a call validates, namespaces, limits and
 * audits the same whichever way it arrives. Each turns its input into a request to the
 * engine and the engine's JSON answer back into a result (`{ ok: false, status, error,
 * message, ... }` for a refusal, with the HTTP API's status and codes).
 */
import type { Bindings } from "../env";
import type { ApiError } from "../errors";
import { validationFailed } from "../lib/validation";
import { RPC_ORIGIN, RPC_PATHS, type createRpcApp } from "./app";
import { authenticateInputSchema } from "./schemas";
import type {
  AuditEventInput,
  AuthenticateInput,
  AuthenticateResult,
  RecordAuditEventResult,
  RequireStepUpInput,
  RequireStepUpResult,
  RpcFailure,
} from "./types";

/** The engine a call runs on, with the Worker's env and execution context. */
export type RpcEngine = { app: ReturnType<typeof createRpcApp>; env: Bindings; ctx: ExecutionContext };

/** As the API's body limit: the fields are bounded one by one, the whole call too. */
export const MAX_INPUT_BYTES = 64 * 1024;

/** The headers the edge check reads; nothing else of the caller's request reaches it. */
const FORWARDED_HEADERS = ["cookie", "cf-connecting-ip", "user-agent"] as const;

function failure(status: number, error: string, message: string, details: Record<string, unknown> = {}): RpcFailure {
  return { ok: false, status, error, message, ...details };
}

/** An ApiError as the RPC answers it. */
const refusal = (error: ApiError): RpcFailure => failure(error.status, error.code, error.message, error.details);

const notJson = () => refusal(validationFailed("input", [{ path: [], message: "must be plain JSON data" }]));

/** The caller's headers reduced to what the edge check reads, or a refusal. */
function edgeHeaders(input: AuthenticateInput): Headers | RpcFailure {
  let source: Headers;
  if (input instanceof Request) source = input.headers;
  else {
    const parsed = authenticateInputSchema.safeParse(input);
    if (!parsed.success) return refusal(validationFailed("input", parsed.error.issues));
    try {
      source = new Headers(parsed.data.headers);
    } catch {
      return refusal(validationFailed("input", [{ path: ["headers"], message: "must be valid HTTP headers" }]));
    }
    if (parsed.data.clientIp !== undefined) source.set("cf-connecting-ip", parsed.data.clientIp);
  }
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = source.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

/** GatehouseService.authenticate: the edge check on the caller's Cookie / CF-Connecting-IP / User-Agent. */
export function authenticateCall(engine: RpcEngine, input: AuthenticateInput): Promise<AuthenticateResult> {
  const headers = edgeHeaders(input);
  if (!(headers instanceof Headers)) return Promise.resolve(headers);
  return call<AuthenticateResult>(engine, RPC_PATHS.authenticate, headers, "");
}

/** GatehouseService.requireStepUp: claims a grant of the session for a declared product purpose. */
export function requireStepUpCall(engine: RpcEngine, input: RequireStepUpInput): Promise<RequireStepUpResult> {
  return callWithJson<RequireStepUpResult>(engine, RPC_PATHS.requireStepUp, new Headers(), input);
}

/** GatehouseService.recordAuditEvent: one `app.…` event in the session's tenant chain (src/rpc/record-event.ts). */
export function recordAuditEventCall(engine: RpcEngine, input: AuditEventInput): Promise<RecordAuditEventResult> {
  const headers = new Headers();
  // Validated again, with everything else, by the route; only well-formed values pass here.
  if (typeof input?.ip === "string" && input.ip.length <= 64) trySet(headers, "cf-connecting-ip", input.ip);
  if (typeof input?.userAgent === "string" && input.userAgent.length <= 1024) trySet(headers, "user-agent", input.userAgent);
  return callWithJson<RecordAuditEventResult>(engine, RPC_PATHS.recordAuditEvent, headers, input);
}

function callWithJson<T>(engine: RpcEngine, path: string, headers: Headers, input: unknown): Promise<T | RpcFailure> {
  let body: string | undefined;
  try {
    body = JSON.stringify(input);
  } catch {
    body = undefined; // a cycle or a BigInt
  }
  if (body === undefined || input === null || typeof input !== "object" || Array.isArray(input)) return Promise.resolve(notJson());
  if (new TextEncoder().encode(body).byteLength > MAX_INPUT_BYTES) {
    return Promise.resolve(failure(413, "PAYLOAD_TOO_LARGE", `Input is limited to ${MAX_INPUT_BYTES} bytes of JSON`));
  }
  headers.set("content-type", "application/json");
  return call<T>(engine, path, headers, body);
}

async function call<T>(engine: RpcEngine, path: string, headers: Headers, body: string): Promise<T | RpcFailure> {
  const response = await engine.app.fetch(new Request(`${RPC_ORIGIN}${path}`, { method: "POST", headers, body }), engine.env, engine.ctx);
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.ok) return answer as T;
  const { error, message, ...details } = answer;
  return failure(response.status, String(error), String(message), details);
}

function trySet(headers: Headers, name: string, value: string): void {
  try {
    headers.set(name, value);
  } catch {
    // Not a valid header value: the route's validation refuses the input.
  }
}
