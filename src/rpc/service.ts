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
 * Each method is one of ./calls.ts's functions, which the product's HTTP API runs too.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Bindings } from "../env";
import { createRpcApp } from "./app";
import { type RpcEngine, authenticateCall, recordAuditEventCall, requireStepUpCall } from "./calls";
import type { AuditEventInput, AuthenticateInput, AuthenticateResult, RecordAuditEventResult, RequireStepUpInput, RequireStepUpResult } from "./types";

const rpcApp = createRpcApp();

export class GatehouseService extends WorkerEntrypoint<Bindings> {
  private engine(): RpcEngine {
    return { app: rpcApp, env: this.env, ctx: this.ctx };
  }

  /**
   * The edge check, exactly as the API and the gateway run it: the session cookie, its
   * state from KV (D1 only on a miss), impersonation, the tenant's IP rules for the
   * address in CF-Connecting-IP. Pass the incoming Request, or its headers (and the
   * client address). A hot call makes no D1 query; an outage is 503 AUTH_UNAVAILABLE.
   */
  async authenticate(input: AuthenticateInput): Promise<AuthenticateResult> {
    return authenticateCall(this.engine(), input);
  }

  /**
   * Claims a step-up grant of the session for `purpose`, a product purpose declared in
   * PRODUCT_STEP_UP_PURPOSES (any other name, Gatehouse's own purposes included, is 400
   * VALIDATION_FAILED and no grant is read): `{ ok: true }`, a single-use grant claimed
   * atomically (two calls never share one), or 428 STEP_UP_REQUIRED with the methods
   * and the purpose's label for the panel's dialog. The session is re-read in D1.
   */
  async requireStepUp(input: RequireStepUpInput): Promise<RequireStepUpResult> {
    return requireStepUpCall(this.engine(), input);
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
    return recordAuditEventCall(this.engine(), input);
  }
}
