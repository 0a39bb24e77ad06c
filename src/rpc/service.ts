/**
 * GatehouseService: the product talks to Gatehouse through a service binding (Workers
 * RPC) rather than HTTP. Exported by src/index.ts next to the default export; a product
 * Worker binds it with
 *   [[services]] binding = "GATEHOUSE" service = "gatehouse" entrypoint = "GatehouseService"
 * and calls `env.GATEHOUSE.authenticate(request)` and friends (docs/rpc.md).
 *
 * Threat model: only Workers of the same account that the operator bound can call it,
 * so the caller is trusted to pass what it received (the client's Cookie and the
 * CF-Connecting-IP the edge set; RPC has no client address of its own) and to name
 * sessions it authenticated. It is not trusted to be right: every input is validated,
 * a session id is re-checked in D1 and confines the call to that session's tenant, and
 * product audit actions live under `app.` so they can never pass for Gatehouse's own.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Bindings } from "../env";
import type { ApiError } from "../errors";
import { validationFailed } from "../lib/validation";
import { RPC_ORIGIN, RPC_PATHS, createRpcApp } from "./app";
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

const rpcApp = createRpcApp();

/** As the API's body limit: the fields are bounded one by one, the whole call too. */
const MAX_INPUT_BYTES = 64 * 1024;

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

export class GatehouseService extends WorkerEntrypoint<Bindings> {
  /**
   * The edge check, exactly as the API and the gateway run it: the session cookie, its
   * state from KV (D1 only on a miss), impersonation, the tenant's IP rules for the
   * address in CF-Connecting-IP. Pass the incoming Request, or its headers (and the
   * client address). A hot call makes no D1 query; an outage is 503 AUTH_UNAVAILABLE.
   */
  async authenticate(input: AuthenticateInput): Promise<AuthenticateResult> {
    const headers = edgeHeaders(input);
    if (!(headers instanceof Headers)) return headers;
    return this.call<AuthenticateResult>(RPC_PATHS.authenticate, headers, "");
  }

  /**
   * Claims a step-up grant of the session for `purpose`, a product purpose declared in
   * PRODUCT_STEP_UP_PURPOSES (any other name, Gatehouse's own purposes included, is 400
   * VALIDATION_FAILED and no grant is read): `{ ok: true }`, a single-use grant claimed
   * atomically (two calls never share one), or 428 STEP_UP_REQUIRED with the methods
   * and the purpose's label for the panel's dialog. The session is re-read in D1.
   */
  async requireStepUp(input: RequireStepUpInput): Promise<RequireStepUpResult> {
    return this.callWithJson<RequireStepUpResult>(RPC_PATHS.requireStepUp, new Headers(), input);
  }

  /**
   * Appends one product event (`app.…`) to the session's tenant chain, as the session's
   * acting user (the real admin in `realUserId` while impersonating) and only while that is
   * still `userId`, and answers the row's id and place in the chain once sealed (or, once
   * committed, `placeUnavailable` rather than an error). A retry with the same
   * `idempotencyKey` records nothing new (src/rpc/record-event.ts). A revoked or unknown
   * session records nothing (401).
   */
  async recordAuditEvent(input: AuditEventInput): Promise<RecordAuditEventResult> {
    const headers = new Headers();
    // Validated again, with everything else, by the route; only well-formed values pass here.
    if (typeof input?.ip === "string" && input.ip.length <= 64) trySet(headers, "cf-connecting-ip", input.ip);
    if (typeof input?.userAgent === "string" && input.userAgent.length <= 1024) trySet(headers, "user-agent", input.userAgent);
    return this.callWithJson<RecordAuditEventResult>(RPC_PATHS.recordAuditEvent, headers, input);
  }

  private callWithJson<T>(path: string, headers: Headers, input: unknown): Promise<T | RpcFailure> {
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
    return this.call<T>(path, headers, body);
  }

  private async call<T>(path: string, headers: Headers, body: string): Promise<T | RpcFailure> {
    const response = await rpcApp.fetch(new Request(`${RPC_ORIGIN}${path}`, { method: "POST", headers, body }), this.env, this.ctx);
    const answer = (await response.json()) as Record<string, unknown>;
    if (response.ok) return answer as T;
    const { error, message, ...details } = answer;
    return failure(response.status, String(error), String(message), details);
  }
}

function trySet(headers: Headers, name: string, value: string): void {
  try {
    headers.set(name, value);
  } catch {
    // Not a valid header value: the route's validation refuses the input.
  }
}
